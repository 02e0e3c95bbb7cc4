/** Jest runs the Node package's tests against the real addon (no mocked engine). */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/npm/test"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }] },
  moduleNameMapper: {
    "^\\./addon\\.js$": "<rootDir>/npm/addon.cjs",
    "^(\\.{1,2}/.*)\\.js$": "$1",
  },
  globalSetup: "<rootDir>/npm/test/global-setup.cjs",
  testTimeout: 120000,
  maxWorkers: 2,
};
