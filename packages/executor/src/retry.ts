// When a failed command is worth another try: registry hiccups, never auth, invalid names/manifests,
// or build errors. Only the last lines are read: that is where the tools print the error that ended
// them, and build logs above may contain anything.
import { mayRetry, type Step } from "@multiarch/plan";

// "failed to solve: not found" alone (nothing named): content an export was writing was removed under it
// by the engine's garbage collection (an image removed meanwhile); a named thing not found is permanent.
const TRANSIENT =
  /\b(5\d\d|429)\b|toomanyrequests|connection reset|connection refused|use of closed network connection|broken pipe|unexpected EOF|\bEOF\b|i\/o timeout|TLS handshake timeout|temporary failure|context deadline exceeded|transport is closing|failed to solve: not found$/im;
const PERMANENT =
  /\b(401|403)\b|unauthorized|denied|NAME_INVALID|MANIFEST_INVALID|did not complete successfully|failed to compute cache key|dockerfile parse error|failed to read dockerfile/i;

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
}
export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 1000 };

/** Whether a step of this kind that ended with this output should run again. */
export function isTransient(kind: Step["kind"], stdout: string, stderr: string): boolean {
  // which kinds may retry at all is said where each kind is named (the plan's schema)
  if (!mayRetry(kind)) return false;
  const text = `${lastLines(stderr, 6)}\n${lastLines(stdout, 6)}`;
  return !PERMANENT.test(text) && TRANSIENT.test(text);
}

/** Jittered exponential backoff before try number `tries` + 1. */
export const backoffMs = (policy: RetryPolicy, tries: number, random: number = Math.random()): number => policy.baseDelayMs * 2 ** (tries - 1) * (0.5 + random);

export const lastLines = (s: string, n = 15): string => s.trimEnd().split("\n").slice(-n).join("\n");
