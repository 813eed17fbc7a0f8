import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Diagnostic } from "@multiarch/spec";
import { describe, expect, test } from "vitest";
import { formatDiagnostic, style, table } from "./format.ts";
import { memoryIo } from "./testing/io.ts";

describe("output", () => {
  test("colour only on a terminal, never with NO_COLOR", () => {
    const tty = (env: Record<string, string>) => ({ ...memoryIo("/", env), stderr: { write: () => true, isTTY: true } });
    expect(style(tty({}), "stderr").red("x")).toBe("\u001b[31mx\u001b[39m");
    expect(style(tty({ NO_COLOR: "1" }), "stderr").red("x")).toBe("x");
    expect(style(memoryIo("/"), "stderr").red("x")).toBe("x");
  });

  test("FORCE_COLOR and TERM=dumb as node and chalk read them", () => {
    const tty = (env: Record<string, string>) => ({ ...memoryIo("/", env), stderr: { write: () => true, isTTY: true } });
    expect(style(memoryIo("/", { FORCE_COLOR: "1" }), "stderr").red("x")).toBe("\u001b[31mx\u001b[39m");
    expect(style(memoryIo("/", { FORCE_COLOR: "" }), "stderr").red("x")).toBe("\u001b[31mx\u001b[39m");
    expect(style(tty({ FORCE_COLOR: "0" }), "stderr").red("x")).toBe("x");
    expect(style(tty({ FORCE_COLOR: "false" }), "stderr").red("x")).toBe("x");
    expect(style(tty({ TERM: "dumb" }), "stderr").red("x")).toBe("x");
    expect(style(tty({ TERM: "dumb", FORCE_COLOR: "1" }), "stderr").red("x")).toBe("\u001b[31mx\u001b[39m");
    expect(style(tty({ NO_COLOR: "1", FORCE_COLOR: "1" }), "stderr").red("x")).toBe("x");
  });

  // found by a review: an 80,000-character value next to an error took 10 s to show (200,000: 53 s), and the
  // caret line was padded to the column
  test("a very long line is shown in 160 characters around the column, at once", () => {
    const dir = mkdtempSync(join(tmpdir(), "multiarch-format-"));
    const file = join(dir, "multiarch.yaml");
    const long = `      a: ${"x".repeat(200_000)}`;
    writeFileSync(file, `version: 1\nimages:\n  base:\n    labels:\n${long}\n    platforms: [linux/arm46]\n`);
    const at = (line: number, col: number) => ({ code: "invalid-value" as const, severity: "error" as const, message: "m", file, line, col });
    const t0 = performance.now();
    const next = formatDiagnostic(at(6, 17), memoryIo(dir), new Map());
    const on = formatDiagnostic(at(5, long.length), memoryIo(dir), new Map());
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(Math.max(...next.split("\n").map((l) => l.length))).toBeLessThan(200);
    const lines = on.split("\n");
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThan(200);
    const shown = lines.find((l) => l.startsWith("  > 5 | "))!;
    const caret = lines[lines.indexOf(shown) + 1]!;
    expect(shown).toMatch(/^ {2}> 5 \| …x+$/);
    // the caret under the line's last character
    expect(caret.indexOf("^")).toBe(shown.length - 1);
  });

  // found by a review: the caret stood where the column is in the file, not in the line as shown
  test("the caret stays under its value after a password is masked, a tab or a lone CR is shown", () => {
    const dir = mkdtempSync(join(tmpdir(), "multiarch-format-"));
    const file = join(dir, "multiarch.yaml");
    const cases = [
      ["    cache: { ref: https://dave:s3cret-pass@cache.example.com/x, mode: maxx }", "maxx"],
      ["\tbad: x\rcontext: 5", "5"],
    ] as const;
    for (const [line, value] of cases) {
      writeFileSync(file, `version: 1\n${line}\n`);
      const d = { code: "invalid-value" as const, severity: "error" as const, message: "m", file, line: 2, col: line.indexOf(value) + 1 };
      const lines = formatDiagnostic(d, memoryIo(dir), new Map()).split("\n");
      const shown = lines.find((l) => l.startsWith("  > 2 | "))!;
      const caret = lines[lines.indexOf(shown) + 1]!;
      expect(shown.slice(caret.indexOf("^")), JSON.stringify(line)).toMatch(new RegExp(`^${value}`));
    }
  });

  /** An error of /x/multiarch.yaml with no place in it (no frame). */
  const placeless = (d: Pick<Diagnostic, "code" | "message" | "hint">): Diagnostic => ({ severity: "error", file: "/x/multiarch.yaml", line: 0, col: 0, ...d });

  test("a diagnostic without a place in the file has no frame", () => {
    const d = placeless({ code: "spec-not-found", message: "spec not found: /x/multiarch.yaml", hint: "pass -f" });
    expect(formatDiagnostic(d, memoryIo("/x"), new Map())).toBe("multiarch.yaml: error[spec-not-found]: spec not found: /x/multiarch.yaml\n  hint: pass -f");
  });

  // found by a review: an imported name's C1 characters (U+009B is a terminal's CSI) were printed raw
  test("a message's C1 controls and line separators are shown escaped, as its C0 ones", () => {
    const d = placeless({ code: "invalid-value", message: 'context name "dep\u007f\u0085\u009b\u2028\u2029\u001b" is not a name', hint: "x\u009by" });
    expect(formatDiagnostic(d, memoryIo("/x"), new Map())).toBe(
      'multiarch.yaml: error[invalid-value]: context name "dep\\u007f\\u0085\\u009b\\u2028\\u2029\\u001b" is not a name\n  hint: x\\u009by',
    );
  });

  test("tables align every column but the last", () => {
    expect(table([["a", "long value", "x"]], ["image", "status", "tags"])).toBe("image  status      tags\na      long value  x");
  });
});
