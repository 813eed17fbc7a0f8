import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);
import{a as s}from"./chunks/chunk-57INPO3L.js";import"./chunks/chunk-TLJ3XNOK.js";import"./chunks/chunk-JGPXTP6T.js";import"./chunks/chunk-RK2YE5BC.js";await s(process.argv.slice(2),process.cwd());
