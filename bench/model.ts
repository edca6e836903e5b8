/** The benchmark's latency model, shared by the full matrix (bench/main.ts) and the sections run alone. */

/**
 * S3 one region away: ~15–25 ms network round trip between neighbouring regions plus S3's own
 * ~10 ms to first byte. 25 ms.
 */
export const DEFAULT_TTFB_MS = 25;
/** One S3 GET stream across regions sustains roughly 50–100 MB/s (Durner et al.); 80 MB/s. */
export const DEFAULT_MBPS = 80;
