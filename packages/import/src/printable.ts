// Text that came from a bake file (a tag, bake's excerpt of a file) as shown on a terminal or written into
// a comment: a control character could recolour or clear the terminal, or end a comment line.
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;
// U+2028 and U+2029 end a line for YAML 1.1 readers and some terminals
const CONTROL_OR_NEWLINE = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/g;

/** Control characters (C0, DEL, C1) as U+FFFD; newlines, tabs and line separators too unless `lines`. */
export const printable = (text: string, lines = true): string => text.replace(lines ? CONTROL : CONTROL_OR_NEWLINE, "\ufffd");
