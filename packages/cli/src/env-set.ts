// Whether an environment variable is set, asked without its value: what validate asks of a secret
// source (a password). validate's result cache (result-cache.ts) records this answer alone, where a read
// of the value would keep a hash of it (a weak password's, guessable from the cache).

/** "undefined" (unset), "false" (set to "") or "true": the answer, as the cache records it. */
export const setOf = (v: string | undefined): string => String(v === undefined ? undefined : v !== "");

/** A recording's env answers this key with a function giving setOf of a variable, and records that. */
export const ASK_SET = Symbol.for("multiarch.result-cache.envSet");

/** Whether env sets name: undefined when unset, false when set to "". */
export function envSet(env: Readonly<Record<string, string | undefined>>, name: string): boolean | undefined {
  const ask = (env as { [ASK_SET]?: (name: string) => string })[ASK_SET];
  const set = ask ? ask(name) : setOf(env[name]);
  return set === "undefined" ? undefined : set === "true";
}
