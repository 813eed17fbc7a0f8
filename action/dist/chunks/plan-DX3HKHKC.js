import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);
import{a,b}from"./chunk-TNQD5Z63.js";import"./chunk-CR5JLPR7.js";import"./chunk-JGPXTP6T.js";import"./chunk-HNIAJEH4.js";import"./chunk-QH4XWE6M.js";import"./chunk-RK2YE5BC.js";export{a as default,b as summary};
