import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);
import{a,b}from"./chunk-SSC34RCU.js";import"./chunk-7JU4NTQN.js";import"./chunk-JGPXTP6T.js";import"./chunk-63ZBUJHG.js";import"./chunk-QH4XWE6M.js";import"./chunk-RK2YE5BC.js";export{a as default,b as summary};
