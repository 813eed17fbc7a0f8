import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);
import{a,b}from"./chunk-ESQPNLWW.js";import"./chunk-POANXYXN.js";import"./chunk-JGPXTP6T.js";import"./chunk-OB2HKD27.js";import"./chunk-QH4XWE6M.js";import"./chunk-RK2YE5BC.js";export{a as default,b as summary};
