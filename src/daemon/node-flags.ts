/**
 * The V8 flags a started daemon runs with. It makes many small, short-lived
 * objects in bursts (a hundred apps registering at once): with a young
 * generation kept small they are scavenged often and cheaply, instead of it
 * growing to tens of MiB the daemon then keeps (with 100 apps: about 61 MiB
 * resident against 80-86 with V8's defaults, measured with `npm run bench --
 * --only daemon`). Set at spawn: V8 takes heap sizes only at start.
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2'];
