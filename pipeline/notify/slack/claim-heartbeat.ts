/** Calls `renew` three times per lease while work runs under a claim; returns what stops it. */
export function startClaimHeartbeat(renew: () => void, leaseMs: number): () => void {
  const timer = setInterval(renew, Math.max(50, Math.floor(leaseMs / 3)));
  timer.unref();
  return () => clearInterval(timer);
}
