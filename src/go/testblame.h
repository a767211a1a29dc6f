/*
 * go/testblame: which test of a Go test binary started a goroutine, for
 * `threadleak check -- go test`: goleak's VerifyNone in every test,
 * without a line in the tests.
 *
 * A test runs in a goroutine of its own, started by the testing package:
 * its function is the frame called from testing.tRunner (a test or a
 * subtest), testing.(*B).runN (a benchmark), testing.fRunner (a fuzz
 * target) or testing.runExample (an example, in the main goroutine).  A
 * goroutine belongs to the test in whose goroutine its chain of `go`
 * statements began: its own stack if it is a test's goroutine, else its
 * ancestors' stacks at their `go` statements (go/ancestors.h), nearest
 * first, even when every one of them has ended.  Those stacks exist
 * only when the program started with GODEBUG=tracebackancestors=N (check
 * sets it); without them, the function that created the goroutine names
 * the test when it is one (or one's closure), and says so.
 *
 * A subtest's name (t.Run's first argument) is not on any stack: a
 * subtest is named by its function, TestX.func1 for a closure, under the
 * top-level test whose goroutine ran t.Run.
 *
 * The package a test binary tests comes from its build info (`path`,
 * as `go version -m` reads it: "example.com/pool.test"); before Go 1.20
 * a test binary has none, and the package of a blamed test says it.
 *
 * Memory: go_blamer_open() returns an object go_blamer_close() frees;
 * it reads the goroutines once, at open.
 */
#ifndef THREADLEAK_GO_TESTBLAME_H
#define THREADLEAK_GO_TESTBLAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GO_TEST_NAME 256

struct go_test_blame {
	char test[GO_TEST_NAME];	/* "TestPoolLeaks"; "": from no test */
	char sub[GO_TEST_NAME];		/* the subtest's function ("TestX.func1"),
					   or "" */
	char pkg[GO_TEST_NAME];		/* the test's package, "_test" cut off
					   ("example.com/pool") */
	bool by_creator;	/* no ancestry: from the creating function */
};

struct go_blamer;

/* Reads process pid's goroutines: 0 and *out, or -errno and err. */
int go_blamer_open(int pid, struct go_blamer **out, char *err, size_t errlen);
void go_blamer_close(struct go_blamer *b);
/* The test that started goroutine goid: 0 and *out, -ENOENT when there
 * is no such goroutine. */
int go_blame(struct go_blamer *b, int64_t goid, struct go_test_blame *out);
/* Whether any goroutine carries ancestors (tracebackancestors was on). */
bool go_blamer_has_ancestry(const struct go_blamer *b);
/* The package the test binary tests ("example.com/pool"), from its build
 * info: 0, or -ENOENT. */
int go_blamer_package(struct go_blamer *b, char *buf, size_t size);

#endif
