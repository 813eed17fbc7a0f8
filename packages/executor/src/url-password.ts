// The credentials of a URL, hidden wherever text is shown or kept: command output, spec lines, and what
// import writes from bake's output.
const USER_CHAR = /[\w.%~-]/;
/** A password runs to white space, "@" or "/": quotes may be in it (a URL's user info allows '). */
const SEGMENT_END = /[\s@/]/;
/** A complete digest after the "@": NAME:TAG@sha256:… is an image pinned by digest, not user:password@. */
const DIGEST = /^sha(?:256:[a-f0-9]{64}|384:[a-f0-9]{96}|512:[a-f0-9]{128})(?![a-f0-9])/;
/** An http(s) URL's start: a user name alone there is where a token goes (https://TOKEN@github.com). */
const HTTP_START = /https?:\/\/$/i;

/**
 * user:password@ in a URL: only the password is hidden, as the regex /([\w.%~-]+:)[^\s@/]+@/g replaced
 * with "$1***@" would hide it, found in one pass: that regex backtracked quadratically on a long line (an
 * 80,000-character value took 10 s to show). A match lies within a run of characters that are none of
 * [\s@/] and ends at the "@" after it: from the run's first user:, the rest of the run is the password.
 * An http(s) URL's user with no password is hidden whole: a token is written there.
 */
export function maskUrlPassword(text: string): string {
  if (!text.includes("@")) return text;
  let out = "";
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    if (i < text.length && !SEGMENT_END.test(text[i]!)) continue;
    const run = text.slice(start, i);
    const masked = text[i] === "@" && !DIGEST.test(text.slice(i + 1, i + 140));
    out += (masked ? maskedRun(run, HTTP_START.test(text.slice(Math.max(0, start - 8), start))) : run) + (text[i] ?? "");
    start = i + 1;
  }
  return out;
}

/** A run before an "@": from its first user: followed by a password, the password as ***; after http(s)://, a user alone as ***. */
function maskedRun(run: string, afterHttp: boolean): string {
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
  return afterHttp && run !== "" && !run.includes(":") ? "***" : run;
}
