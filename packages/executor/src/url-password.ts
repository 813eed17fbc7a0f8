// The password of a user:password@ URL, hidden wherever text is shown or kept: command output, spec lines.
const USER_CHAR = /[\w.%~-]/;
const SEGMENT_END = /[\s@/'"]/;
const DIGEST = /^[a-z0-9]+:[a-f0-9]{32}/;

/**
 * user:password@ in a URL: only the password is hidden. What the regex /([\w.%~-]+:)[^\s@/'"]+@/g
 * replaces with "$1***@", found in one pass: that regex backtracked quadratically on a long line (an
 * 80,000-character value took 10 s to show). A match lies within a run of characters that are none of
 * [\s@/'"] and ends at the "@" after it: from the run's first user:, the rest of the run is the password.
 */
export function maskUrlPassword(text: string): string {
  if (!text.includes("@")) return text;
  let out = "";
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    if (i < text.length && !SEGMENT_END.test(text[i]!)) continue;
    const run = text.slice(start, i);
    // NAME:TAG@sha256:… is an image pinned by digest, which has the shape and holds no password
    const masked = text[i] === "@" && !DIGEST.test(text.slice(i + 1, i + 80));
    out += (masked ? maskedRun(run) : run) + (text[i] ?? "");
    start = i + 1;
  }
  return out;
}

/** A run before an "@": from its first user: followed by a password, the password as ***. */
function maskedRun(run: string): string {
  for (let i = 0; i < run.length; ) {
    if (!USER_CHAR.test(run[i]!)) {
      i++;
      continue;
    }
    let j = i;
    while (j < run.length && USER_CHAR.test(run[j]!)) j++;
    if (run[j] === ":" && j + 1 < run.length) return `${run.slice(0, j + 1)}***`;
    i = j;
  }
  return run;
}
