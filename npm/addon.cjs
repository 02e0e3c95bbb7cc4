// Loads the native addon (CommonJS build: npm/dist/cjs/addon.js re-exports this).
module.exports = require("../binding/build/Release/hearth.node");
