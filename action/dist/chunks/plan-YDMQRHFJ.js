import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);
import{a,b}from"./chunk-YH6ZMIJB.js";import"./chunk-X4L2WSYC.js";import"./chunk-5L5U5WBZ.js";import"./chunk-M6BOVTOK.js";import"./chunk-X3VUS3LN.js";import"./chunk-RK2YE5BC.js";export{a as default,b as summary};
