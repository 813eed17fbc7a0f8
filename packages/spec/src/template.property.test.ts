// Generated differential test: the simple-template path (text and {{name}} / {{name.field}}) must read
// every template it accepts as handlebars parses it, and render it as handlebars renders it, or hand it over.
import fc from "fast-check";
import Handlebars from "handlebars";
import { expect, test } from "vitest";
import { MapValue, renderSimple, simpleTemplate } from "./template.ts";

const NAMES = ["version", "channel", "git", "image", "ci", "lower", "lookup", "if", "each", "with", "log", "date", "true", "null", "this", "else", "a_b", "A1"];
const FIELDS = ["sha", "branch", "name", "x", "constructor", "__proto__", "toString"];
const TEXT = ["", "a", "v", "-", ".", " ", "{", "}", "}}", "\\", "\\{{", "{{{", "}}}", "@", "/", ":", "ü"];
const MUSTACHE = [
  "{{ version }}",
  "{{~version}}",
  "{{version~}}",
  "{{{version}}}",
  "{{@index}}",
  "{{../version}}",
  "{{version.x.y}}",
  "{{a-b}}",
  "{{1a}}",
  "{{!c}}",
];

const piece = fc.oneof(
  fc.constantFrom(...TEXT),
  fc.constantFrom(...MUSTACHE),
  fc.tuple(fc.constantFrom(...NAMES), fc.option(fc.constantFrom(...FIELDS))).map(([n, f]) => `{{${n}${f === null ? "" : `.${f}`}}}`),
);
const source = fc.array(piece, { minLength: 1, maxLength: 6 }).map((p) => p.join(""));
const value = fc.oneof(
  fc.constantFrom("1.0", "", "a&b", "<x>", "{{version}}"),
  fc.constant(undefined),
  fc.constant(null),
  fc.constant(3),
  fc.constant(new MapValue("m", new Map([["k", "v"]]))),
  fc.record({ sha: fc.constantFrom("abc", ""), name: fc.constant("api") }, { requiredKeys: [] }),
);
const context = fc
  .record(Object.fromEntries(NAMES.map((n) => [n, value])), { requiredKeys: [] })
  .map((d) => Object.assign(Object.create(null), d) as Record<string, unknown>);

const hb = Handlebars.create();
const OPTIONS = { strict: true, noEscape: true, knownHelpersOnly: true } as const;
const shape = (ast: hbs.AST.Program) =>
  ast.body.map((s) => {
    if (s.type === "ContentStatement") return (s as hbs.AST.ContentStatement).value;
    const m = s as hbs.AST.MustacheStatement;
    const p = m.path as hbs.AST.PathExpression;
    return { type: s.type, path: [p.type, p.original, p.parts, p.data, p.depth], params: m.params.length, hash: m.hash };
  });
const simpleShape = (parts: NonNullable<ReturnType<typeof simpleTemplate>>) =>
  parts.map((p) =>
    typeof p === "string" ? p : { type: "MustacheStatement", path: ["PathExpression", p.join("."), [...p], false, 0], params: 0, hash: undefined },
  );

test("a template the simple path reads is the one handlebars parses", () => {
  fc.assert(
    fc.property(source, (src) => {
      const simple = simpleTemplate(src);
      if (simple) expect(simpleShape(simple)).toEqual(shape(hb.parse(src)));
    }),
    { numRuns: 3000 },
  );
});

test("a template the simple path renders renders the same with handlebars", () => {
  let rendered = 0;
  fc.assert(
    fc.property(source, context, (src, ctx) => {
      const simple = simpleTemplate(src);
      const out = simple && renderSimple(simple, ctx);
      if (typeof out !== "string") return;
      rendered++;
      expect(hb.compile(src, OPTIONS)(ctx)).toBe(out);
    }),
    { numRuns: 3000 },
  );
  expect(rendered).toBeGreaterThan(100); // the generator reaches the fast path, not only its hand-overs
});
