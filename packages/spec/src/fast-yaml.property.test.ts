// Generated differential test: thousands of documents mixing the features the fast reader must either
// read exactly as the `yaml` library does or hand over (tabs, comments after values, flow collections,
// block scalars, anchors, non-mapping roots, BOM, CRLF, tricky plain scalars). Any disagreement fails.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { fastParse } from "./fast-yaml.ts";
import { parseYaml, yamlTables } from "./source-map.ts";

const pos = (offset: number) => ({ file: "x", line: 0, col: offset });

const SCALARS = [
  "release",
  "a b",
  "1",
  "1.5",
  "0x1F",
  "0X1F",
  "0o17",
  "0O17",
  "-0",
  "+3",
  ".5",
  "1e3",
  "1E3",
  "12345678901234567890",
  "0.",
  "1_000",
  "0b11",
  "true",
  "True",
  "yes",
  "No",
  "null",
  "~",
  "a#b",
  "a #b",
  "https://x.io:5000/y",
  "a: b",
  "x:",
  ":x",
  "-",
  "- x",
  "-x",
  "?x",
  "? x",
  "'it''s'",
  "'a'b",
  '"q"',
  '"a\\tb"',
  '"{{v}}"',
  "{{version}}",
  "@x",
  "`x",
  "%x",
  "&a",
  "*a",
  "!x",
  "|",
  ">",
  "[a",
  "a]",
  "a,b",
  "{a",
  "ü",
  " lead",
  "trail  ",
  ".inf",
  ".nan",
  "-.inf",
  "linux/arm/v7",
  "127.0.0.1:5000/acme",
  "a\tb",
  "'a\tb'",
  // white space to JavaScript, text to YAML (found by a differential fuzz: trimEnd dropped it)
  "1\u00a0",
  "b\u3000",
  "b\f",
  "\u00a0",
  "x\u2028y",
  "b\ufeff",
  "a:\rb",
  "x\r",
];
const KEYS = ["a", "b", "image", "MODE", "x.y", "a-b", "1.0", "true", "yes", "null", "0x1", "__proto__", "$v", "k/v", "a b", "'q'", '"d"', "? c"];
const SEP = [" ", "  ", "\t", " \t"];
const COMMENT = ["", "", "", " # note", "\t# note", "  #", "# not", " #\tx"];

// Mostly what specs hold, with the tricky pieces mixed in, so both the fast path and its bail-outs run.
// (unbiased rolls: fast-check's small-value bias would pick the rare ones most of the time)
const mostly = <T>(common: readonly T[], rare: readonly T[], rarePercent = 8) =>
  fc.noBias(fc.tuple(fc.integer({ min: 0, max: 99 }), fc.nat())).map(([roll, i]) => (roll < rarePercent ? rare[i % rare.length]! : common[i % common.length]!));
const scalar = mostly(SCALARS.slice(0, 24), SCALARS, 5);
const key = mostly(KEYS.slice(0, 7), KEYS, 3);
const sep = mostly([" "], SEP);
const comment = mostly(["", " # note"], COMMENT);

/** A flow collection on one line, with mixed separators. */
const flow: fc.Arbitrary<string> = fc.letrec<{ node: string }>((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    scalar.filter((s) => !/[,[\]{}]/.test(s)),
    fc.tuple(fc.array(tie("node"), { maxLength: 3 }), fc.constantFrom(", ", ",", ",\t", " , ", ",  ")).map(([items, s]) => `[${items.join(s)}]`),
    fc
      .tuple(
        fc.uniqueArray(fc.tuple(key, tie("node")), { maxLength: 3, selector: ([k]) => k }),
        fc.constantFrom(", ", ",", ",\t"),
        fc.constantFrom(": ", ":\t", ":  "),
      )
      .map(([pairs, s, c]) => `{${pairs.map(([k, v]) => `${k}${c}${v}`).join(s)}}`),
  ),
})).node;

type Lines = readonly string[];
const indent = (lines: Lines, by: string) => lines.map((l) => (l === "" ? l : by + l));

const block: fc.Arbitrary<Lines> = fc.letrec<{ map: Lines; seq: Lines; value: Lines }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true, maxDepth: 4 },
    { arbitrary: fc.tuple(scalar, comment).map(([v, c]) => [`${v}${c}`]), weight: 10 },
    { arbitrary: fc.tuple(flow, comment).map(([v, c]) => [`${v}${c}`]), weight: 4 },
    { arbitrary: fc.constantFrom(["|", "  text", "  more"], [">-", "  folded"], ["&anchor 1"], ["*anchor"], ["!!str 1"]), weight: 1 },
    { arbitrary: tie("map").map((m) => ["", ...indent(m, "  ")]), weight: 3 },
    { arbitrary: tie("seq").map((s) => ["", ...indent(s, "  ")]), weight: 2 },
    { arbitrary: tie("seq").map((s) => ["", ...s]), weight: 2 },
  ),
  map: fc
    .uniqueArray(fc.tuple(key, sep, tie("value"), mostly([false], [true], 20)), { minLength: 1, maxLength: 4, selector: ([k]) => k })
    .map((entries) =>
      entries.flatMap(([k, s, [first = "", ...rest], blankBefore]) => [
        ...(blankBefore ? ["# comment line"] : []),
        first === "" ? `${k}:` : `${k}:${s}${first}`,
        ...rest,
      ]),
    ),
  seq: fc
    .array(
      fc.oneof(
        fc.tuple(scalar, comment).map(([v, c]) => [`- ${v}${c}`]),
        tie("map").map(([f = "", ...r]) => [`- ${f}`, ...indent(r, "  ")]),
      ),
      { minLength: 1, maxLength: 3 },
    )
    .map((items) => items.flat()),
})).map;

const document = fc
  .tuple(block, fc.constantFrom("\n", "\n", "\r\n"), fc.boolean(), fc.boolean(), fc.array(fc.tuple(scalar, comment), { maxLength: 2 }))
  .map(([lines, eol, bom, seqRoot, items]) => {
    const body = seqRoot && items.length ? items.map(([v, c]) => `- ${v}${c}`) : lines;
    return `${bom ? "\uFEFF" : ""}${body.join(eol)}${eol}`;
  });

function agrees(text: string): boolean {
  const fast = fastParse(text);
  if (!fast) return true;
  const ref = yamlTables(text, pos);
  expect(ref.ok, `the fast path accepted text the library rejects:\n${JSON.stringify(text)}`).toBe(true);
  if (ref.ok) {
    expect(fast.data, JSON.stringify(text)).toStrictEqual(ref.data);
    expect(Object.fromEntries(fast.keys)).toEqual(Object.fromEntries(ref.keys));
    expect(Object.fromEntries(fast.values)).toEqual(Object.fromEntries(ref.values));
  }
  return true;
}

describe("fast YAML reader against the yaml library, generated", () => {
  test("identical reading or a bail-out on 10,000 generated documents", () => {
    let fastCount = 0;
    fc.assert(
      fc.property(document, (text) => {
        if (fastParse(text)) fastCount++;
        return agrees(text);
      }),
      { numRuns: 10_000, seed: 20261127 },
    );
    // The generator must exercise the fast path too, not only its bail-outs.
    expect(fastCount).toBeGreaterThan(400);
  }, 120_000); // about a second alone; far more when the whole suite shares two cores

  test.each([
    ["tab before a comment", "args:\n  MODE: release\t# note\n"],
    ["tab inside a flow sequence", "a: [a,\tb]\n"],
    ["top-level list", "- a\n- b\n"],
    ["BOM", "\uFEFFa: 1\n"],
  ])("%s is handed to the library", (_name, text) => {
    expect(fastParse(text)).toBeUndefined();
  });

  // found by a differential fuzz of multiarch.yaml variants: each was read otherwise than the library reads it
  test.each([
    ["a no-break space after a value", "version: 1\u00a0\n"],
    ["a value of white space YAML keeps", "a: \u00a0\nb: \f\n"],
    ["an ideographic space before a comment", "x: a\u3000 #b\n"],
    ["a list item of a no-break space", "x:\n- \u00a0\n"],
    ["a lone CR before spaces", "context: hello\r \nx: 1\n"],
    ["a lone CR after a key's colon", "a:\n- context:\rhello\n"],
    ["a lone CR before #", "a: x\r#c\n"],
    ["a key over 1024 characters", `${"a".repeat(1100)}: b\n`],
    ["a list item's key over 1024 characters", `x:\n- ${"k".repeat(1100)}: b\n`],
  ])("%s: read as the library reads it", (_name, text) => {
    expect(agrees(text)).toBe(true);
    // and, through the whole reader, the verdict is the library's
    const fast = parseYaml(text, "x.yaml");
    const slow = parseYaml(text, "x.yaml", { fast: false });
    expect(fast.ok).toBe(slow.ok);
    if (fast.ok && slow.ok) expect(fast.data).toStrictEqual(slow.data);
  });

  test.each([["\u00a0\n"], ["#x\n\u2028\n"], ["\u3000#c\n"]])("%j is a document, not an empty file", (text) => {
    const r = parseYaml(text, "x.yaml");
    expect(r.ok || r.errors[0]!.code).not.toBe("spec-empty");
  });
  test.each([["\ufeff\n"], ["  # only a comment\r\n\n"], [" \t\n"]])("%j is empty", (text) => {
    const r = parseYaml(text, "x.yaml");
    expect(r.ok ? "ok" : r.errors[0]!.code).toBe("spec-empty");
  });
});
