import { specInputSchema, zod } from "./schema.ts";

/** The JSON Schema editors use for completion; generated from the zod schema, never by hand. */
export function specJsonSchema(): Record<string, unknown> {
  const schema = zod().toJSONSchema(specInputSchema(), { io: "input", target: "draft-2020-12" }) as Record<string, unknown>;
  return { title: "multiarch.yaml", ...schema };
}
