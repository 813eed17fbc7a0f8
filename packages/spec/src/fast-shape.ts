// A fast path for the shape check: the spec's JSON Schema (generated from the zod schema, and kept equal
// to it by json-schema.test.ts) read by a checker that knows exactly the keywords that schema uses.
// For a spec of the right shape it returns what zod's parse returns (strict objects rebuilt in the
// schema's key order, records and lists in the spec's order); for anything else, or a keyword it does
// not know, undefined: zod then checks and says why. fast-shape.property.test.ts checks both agree.
// Why: building the zod schema and parsing with it cost a fifth of `validate` on a 250-image spec.
import schema from "../../../schemas/multiarch.schema.json" with { type: "json" };

type SchemaNode = Record<string, unknown>;

const FAIL = Symbol("not sure");
const IGNORED = new Set(["description", "title", "$schema"]);
const KNOWN = new Set([
  ...IGNORED,
  "type",
  "const",
  "enum",
  "anyOf",
  "properties",
  "required",
  "additionalProperties",
  "propertyNames",
  "items",
  "minItems",
  "minLength",
  "pattern",
  "minimum",
  "maximum",
]);
const patterns = new Map<string, RegExp>();

/** The spec data as zod's parse would return it, or undefined where zod must decide. */
export function fastShape(data: unknown): { value: unknown } | undefined {
  const value = check(schema as SchemaNode, data);
  return value === FAIL ? undefined : { value };
}

function check(node: SchemaNode, v: unknown): unknown {
  for (const k in node) if (!KNOWN.has(k)) return FAIL;
  if ("const" in node && v !== node.const) return FAIL;
  if ("enum" in node && !(node.enum as unknown[]).includes(v)) return FAIL;
  if (node.anyOf) {
    // zod's union: the first option that accepts the value
    for (const option of node.anyOf as SchemaNode[]) {
      const out = check(option, v);
      if (out !== FAIL) return out;
    }
    return FAIL;
  }
  switch (node.type) {
    case "string":
      if (typeof v !== "string" || (node.minLength !== undefined && v.length < (node.minLength as number))) return FAIL;
      if (node.pattern !== undefined && !patternOf(node.pattern as string).test(v)) return FAIL;
      return v;
    case "boolean":
      return typeof v === "boolean" ? v : FAIL;
    case "number":
    case "integer":
      if (typeof v !== "number" || !Number.isFinite(v) || (node.type === "integer" && !Number.isSafeInteger(v))) return FAIL;
      if ((node.minimum !== undefined && v < (node.minimum as number)) || (node.maximum !== undefined && v > (node.maximum as number))) return FAIL;
      return v;
    case "array": {
      if (!Array.isArray(v) || (node.minItems !== undefined && v.length < (node.minItems as number)) || !node.items) return FAIL;
      const out: unknown[] = [];
      for (const item of v) {
        const o = check(node.items as SchemaNode, item);
        if (o === FAIL) return FAIL;
        out.push(o);
      }
      return out;
    }
    case "object":
      return object(node, v);
    default:
      return FAIL;
  }
}

function object(node: SchemaNode, v: unknown): unknown {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return FAIL;
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return FAIL;
  const input = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const extra = node.additionalProperties;
  if (node.properties) {
    // a strict object: only its own keys, in the schema's order
    if (extra !== false) return FAIL;
    const properties = node.properties as Record<string, SchemaNode>;
    for (const key of (node.required as string[] | undefined) ?? []) if (!Object.hasOwn(input, key)) return FAIL;
    for (const key in input) if (!Object.hasOwn(properties, key)) return FAIL;
    for (const key in properties) {
      if (!Object.hasOwn(input, key)) continue;
      const o = check(properties[key]!, input[key]);
      if (o === FAIL) return FAIL;
      out[key] = o;
    }
    return out;
  }
  // a record of string keys
  if (typeof extra !== "object" || extra === null) return FAIL;
  const names = node.propertyNames as SchemaNode | undefined;
  if (names && (Object.keys(names).length !== 1 || names.type !== "string")) return FAIL;
  for (const key in input) {
    const o = check(extra as SchemaNode, input[key]);
    if (o === FAIL) return FAIL;
    out[key] = o;
  }
  return out;
}

function patternOf(source: string): RegExp {
  let re = patterns.get(source);
  if (!re) {
    re = new RegExp(source);
    patterns.set(source, re);
  }
  return re;
}
