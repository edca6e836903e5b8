/**
 * How many requests go out at once, derived in one place: the HTTP pool's sockets per origin, and
 * each reader's share of them. Pure constants (no I/O), so the core can use them in a browser too.
 */

/**
 * Sockets per origin in the shared HTTP pool. Object stores take dozens of parallel GETs per client
 * (S3 easily serves 50+), and the planner's waves of parallel range requests are sized below this,
 * so one wave never queues behind itself; the bound keeps 1,000 concurrent readers from opening
 * 1,000 sockets (catalogue case 25).
 */
export const CONNECTIONS_PER_ORIGIN = 64;

/**
 * Readers that can each send a full wave over one pool at once without queueing behind each other:
 * two (a decode reading one file while the next file's wave goes out, or two files read side by side).
 */
export const READERS_PER_POOL = 2;

/**
 * Requests in flight at once per reader: its share of the pool. A wave of a Parquet plan (a few dozen
 * column chunks after merging) should go out in one round trip; a cap below the wave adds round trips.
 */
export const DEFAULT_CONCURRENCY = CONNECTIONS_PER_ORIGIN / READERS_PER_POOL;
