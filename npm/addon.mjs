// Loads the native addon (ESM build: npm/dist/esm/addon.js re-exports this).
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
export default require("../binding/build/Release/hearth.node");
