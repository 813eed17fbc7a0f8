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

  test("a diagnostic without a place in the file has no frame", () => {
    const d = {
      code: "spec-not-found" as const,
      severity: "error" as const,
      message: "spec not found: /x/multiarch.yaml",
      file: "/x/multiarch.yaml",
      line: 0,
      col: 0,
      hint: "pass -f",
    };
    expect(formatDiagnostic(d, memoryIo("/x"), new Map())).toBe("multiarch.yaml: error[spec-not-found]: spec not found: /x/multiarch.yaml\n  hint: pass -f");
  });

  test("tables align every column but the last", () => {
    expect(table([["a", "long value", "x"]], ["image", "status", "tags"])).toBe("image  status      tags\na      long value  x");
  });
});
