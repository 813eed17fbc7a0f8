// sign: one way to sign (a key pair or keyless), and where the public key that verifies signatures is.
import type { Signing } from "../model.ts";
import { type RuleContext, report } from "./context.ts";

export function signRules(ctx: RuleContext): Signing | undefined {
  const s = ctx.input.sign;
  if (!s) return undefined;
  const at = ctx.map.keyAt(["sign"]);
  if (s.keyless) {
    if (s.key || s.password || s.publicKey || s.tlog !== undefined) {
      report(
        ctx,
        "invalid-value",
        ["sign"],
        "sign: keyless signing takes no key, password, publicKey or tlog",
        "keep keyless: { issuer, identity }, or sign with key:",
        true,
      );
      return undefined;
    }
    try {
      new RegExp(s.keyless.identity);
    } catch (e) {
      report(ctx, "invalid-value", ["sign", "keyless", "identity"], `sign.keyless.identity is not a regular expression: ${(e as Error).message}`);
      return undefined;
    }
    return { mode: "keyless", issuer: s.keyless.issuer, identity: s.keyless.identity, at };
  }
  if (!s.key) {
    report(
      ctx,
      "missing-key",
      ["sign"],
      "sign: give key: (a cosign key pair) or keyless:",
      "key: { file: cosign.key } and COSIGN's password as password: { env: NAME }",
      true,
    );
    return undefined;
  }
  // cosign generate-key-pair writes cosign.key and cosign.pub side by side
  const keyFile = "file" in s.key ? s.key.file : undefined;
  const publicKey = s.publicKey ?? (keyFile?.endsWith(".key") ? { file: `${keyFile.slice(0, -".key".length)}.pub` } : undefined);
  if (!publicKey) {
    report(ctx, "missing-key", ["sign"], "sign: give publicKey: to verify signatures with", "publicKey: { file: cosign.pub } or { env: NAME }", true);
    return undefined;
  }
  return { mode: "key", key: s.key, publicKey, ...(s.password ? { password: s.password } : {}), tlog: s.tlog ?? false, at };
}
