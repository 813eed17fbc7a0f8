// The one SHA-256 of the project, in hex. node:crypto is loaded on the first hash: validate and most
// plans hash nothing, and loading it costs every command 4-5 ms of start-up.
export const sha256 = (data: string | Uint8Array): string => process.getBuiltinModule("node:crypto").createHash("sha256").update(data).digest("hex");
