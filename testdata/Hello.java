// Hello: a Java program for `threadleak check`, run as `java Hello.java
// [daemon]`.  It prints "hi" and returns from main.  With "daemon" it
// first starts a daemon thread named "leaky-sleeper" that sleeps for ever
// (Thread.sleep): the program's own thread, left behind at exit, which
// check must report among the JVM's own (which it must not).  main waits
// until that thread sleeps (TIMED_WAITING: in JVM_Sleep), however loaded
// the machine.
public class Hello {
    public static void main(String[] args) throws InterruptedException {
        if (args.length > 0 && args[0].equals("daemon")) {
            Thread t = new Thread(() -> {
                try {
                    Thread.sleep(Long.MAX_VALUE);
                } catch (InterruptedException e) {
                }
            }, "leaky-sleeper");
            t.setDaemon(true);
            t.start();
            while (t.getState() != Thread.State.TIMED_WAITING)
                Thread.sleep(1);
        }
        System.out.println("hi");
    }
}
