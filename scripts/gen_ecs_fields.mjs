// Turn the ECS flat field definitions (build/commonjs/ecs_flat.js: EcsFlat) shipped in the npm package @elastic/ecs into kmsdet's own
// compact field-type table (kmsdet/fields/data/ecs.json).
//
// Why a script: the package carries descriptions, examples and OTel notes for ~2,600 fields
// (several MB); lint only needs each field's mapping type and the few mapping options that change
// what a query can match. Running this at development time keeps Node out of kmsdet's runtime.
//
// Usage (see scripts/README.md):
//   node scripts/gen_ecs_fields.mjs <unpacked @elastic/ecs package dir> [output.json]
//
// The output is deterministic (fields sorted, one per line) so a regenerated table diffs cleanly.

import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createRequire } from "node:module";

const DEFAULT_OUT = "kmsdet/fields/data/ecs.json";

function usage(message) {
  process.stderr.write(`${message}\nusage: node scripts/gen_ecs_fields.mjs <package dir> [out]\n`);
  process.exit(2);
}

/** The mapping options kmsdet reads, in the key names of kmsdet.fields.schema.FieldInfo. */
function compact(def) {
  const out = { type: def.type };
  if (def.ignore_above !== undefined) out.ignore_above = def.ignore_above;
  if (def.index === false) out.index = false;
  if (def.doc_values === false) out.doc_values = false;
  if (def.object_type !== undefined) out.object_type = def.object_type;
  return out;
}

function buildTable(ecsFlat) {
  const fields = {};
  for (const [name, def] of Object.entries(ecsFlat)) {
    if (typeof def.type !== "string") throw new Error(`field ${name} has no type`);
    fields[name] = compact(def);
    for (const multi of def.multi_fields ?? []) {
      const multiName = multi.flat_name ?? `${name}.${multi.name}`;
      fields[multiName] = { ...compact(multi), parent: name };
    }
  }
  return fields;
}

function render(source, fields) {
  const names = Object.keys(fields).sort();
  const lines = names.map((n) => `    ${JSON.stringify(n)}: ${JSON.stringify(fields[n])}`);
  return `{\n  "source": ${JSON.stringify(source)},\n  "fields": {\n${lines.join(",\n")}\n  }\n}\n`;
}

async function main() {
  const [pkgArg, outArg] = process.argv.slice(2);
  if (!pkgArg) usage("missing the @elastic/ecs package directory");
  const pkgDir = resolve(pkgArg);
  const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
  if (pkg.name !== "@elastic/ecs") usage(`${pkgDir} holds ${pkg.name}, not @elastic/ecs`);

  // The CommonJS build, because the ESM build's index uses extensionless imports Node rejects.
  const load = createRequire(import.meta.url);
  const cjs = join(pkgDir, "build", "commonjs");
  const { EcsFlat } = load(join(cjs, "ecs_flat.js"));
  const { EcsVersion } = load(join(cjs, "index.js"));

  const fields = buildTable(EcsFlat);
  const source = {
    name: "ecs",
    ecs_version: EcsVersion,
    package: pkg.name,
    package_version: pkg.version,
    license: "Apache-2.0",
    generated_by: "scripts/gen_ecs_fields.mjs",
    definitions: Object.keys(EcsFlat).length,
    fields: Object.keys(fields).length,
  };
  const out = resolve(outArg ?? DEFAULT_OUT);
  writeFileSync(out, render(source, fields));
  process.stdout.write(
    `wrote ${out}: ECS ${EcsVersion} (package ${pkg.version}), ` +
      `${source.definitions} definitions, ${source.fields} fields with multi-fields\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`gen_ecs_fields: ${err.message}\n`);
  process.exit(1);
});
