import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "dist/",
      "dist.*.tmp/",
      "release/",
      "node_modules/",
      "coverage/",
      "examples/",
      "bench-results/",
      ".prof/",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  // The floors: cli -> commands -> ops -> adapters -> core -> config. Commands compose ops (and the
  // pure core); only ops reach the outside systems. The core is pure.
  {
    files: ["src/commands/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["**/adapters/**", "**/exec/**", "**/webhook/**", "**/triggers/**"],
              message:
                "commands compose ops (and the pure core): call an ops function (src/ops) instead of an adapter, the runner, the webhook or trigger modules",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["src/core/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: [
                "**/adapters/**",
                "**/exec/**",
                "**/ops/**",
                "**/commands/**",
                "**/webhook/**",
                "**/triggers/**",
              ],
              message:
                "src/core is pure: it decides from values and never reaches what runs processes or touches the host",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["scripts/**/*.mjs"],
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        URL: "readonly",
        performance: "readonly",
        fetch: "readonly",
        AbortSignal: "readonly",
      },
    },
  },
  // CommonJS stand-ins for modules inside the bundle (scripts/bundle.mjs).
  {
    files: ["scripts/shims/**/*.cjs"],
    languageOptions: { sourceType: "commonjs", globals: { module: "readonly", require: "readonly" } },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);
