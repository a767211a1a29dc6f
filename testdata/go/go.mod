module threadleak.test/testdata

go 1.19
