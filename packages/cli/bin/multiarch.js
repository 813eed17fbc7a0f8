#!/usr/bin/env node
import "../dist/multiarch.js";
