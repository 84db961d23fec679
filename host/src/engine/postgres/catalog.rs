//! Reading a PostgreSQL schema back from `pg_catalog` as [`Schema`] data,
//! with PostgreSQL's own renderings (`format_type`, `pg_get_expr`,
//! `pg_get_constraintdef`, `pg_get_indexdef`, `pg_get_viewdef`,
//! `pg_get_triggerdef`), not `information_schema`.
//!
//! The renderings name tables unqualified when their schema is on the
//! `search_path`, so reads run with the plugin's own path set: the same
//! schema read in a scratch database and in the operator's compares equal.

use crate::schema::names::ObjectKind;
use crate::schema::sqltext::normalize;
use crate::schema::{Column, ForeignKey, Index, Schema, Table};
use postgres::types::Type;
use postgres::{GenericClient, Statement};
use std::collections::BTreeMap;

/// The tables, views, indexes and triggers of a schema (`$1`), through the
/// catalogs' indexes (each relation records its namespace in `pg_depend`),
/// not a scan of `pg_class`, which grows with the database.
const OBJECTS: &str = "WITH rels AS (
           SELECT c.oid, c.relname, c.relkind FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
           WHERE d.refclassid = 'pg_namespace'::regclass AND d.classid = 'pg_class'::regclass AND d.deptype = 'n'
             AND d.refobjid = (SELECT oid FROM pg_namespace WHERE nspname = $1))
         SELECT relname::text, relkind::text FROM rels WHERE relkind IN ('r', 'p', 'v', 'm')
         UNION ALL
         SELECT ci.relname::text, ci.relkind::text
         FROM rels JOIN pg_index i ON i.indrelid = rels.oid JOIN pg_class ci ON ci.oid = i.indexrelid
         UNION ALL
         SELECT t.tgname::text, 'trigger' FROM rels JOIN pg_trigger t ON t.tgrelid = rels.oid WHERE NOT t.tgisinternal";

/// What a role (`$1`) owns, relations and functions in one query, through
/// `pg_shdepend`, which records the owner of every object (by index), not
/// scans of `pg_class` and `pg_proc`.
const OWNED: &str = "WITH mine AS (
           SELECT classid, objid FROM pg_shdepend
           WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
             AND refclassid = 'pg_authid'::regclass AND deptype = 'o'
             AND refobjid = (SELECT oid FROM pg_roles WHERE rolname = $1))
         SELECT 'relation', n.nspname::text, c.relname::text, c.relkind::text, c.relpersistence = 't'
         FROM mine JOIN pg_class c ON mine.classid = 'pg_class'::regclass AND c.oid = mine.objid
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname <> 'pg_toast'
         UNION ALL
         SELECT 'function', n.nspname::text, p.proname::text, '',
                p.prosecdef AND coalesce(array_to_string(p.proconfig, ','), '') LIKE '%search_path=%'
         FROM mine JOIN pg_proc p ON mine.classid = 'pg_proc'::regclass AND p.oid = mine.objid
         JOIN pg_namespace n ON n.oid = p.pronamespace";

/// The catalog reads the checks make after every statement they run,
/// prepared once per connection: planned once, then one round trip each.
#[derive(Debug)]
pub struct Prepared {
    objects: Statement,
    owned: Statement,
}

impl Prepared {
    /// Prepares them on `client`'s session.
    pub fn new(client: &mut impl GenericClient) -> Result<Prepared, postgres::Error> {
        Ok(Prepared {
            objects: client.prepare_typed(OBJECTS, &[Type::TEXT])?,
            owned: client.prepare_typed(OWNED, &[Type::TEXT])?,
        })
    }

    /// [`objects`], prepared.
    pub fn objects(
        &self,
        client: &mut impl GenericClient,
        schema: &str,
    ) -> Result<BTreeMap<String, ObjectKind>, postgres::Error> {
        Ok(objects_of(&client.query(&self.objects, &[&schema])?))
    }

    /// [`owned_by`], prepared.
    pub fn owned_by(
        &self,
        client: &mut impl GenericClient,
        role: &str,
        schema: &str,
    ) -> Result<Owned, postgres::Error> {
        Ok(owned_of(&client.query(&self.owned, &[&role])?, schema))
    }
}

/// The tables, views, indexes and triggers of schema `schema`, by name.
pub fn objects(client: &mut impl GenericClient, schema: &str) -> Result<BTreeMap<String, ObjectKind>, postgres::Error> {
    Ok(objects_of(&client.query_typed(OBJECTS, &[(&schema, Type::TEXT)])?))
}

fn objects_of(rows: &[postgres::Row]) -> BTreeMap<String, ObjectKind> {
    rows.iter()
        .filter_map(|row| {
            let kind = match row.get::<_, &str>(1) {
                "r" | "p" => ObjectKind::Table,
                "v" | "m" => ObjectKind::View,
                "i" | "I" => ObjectKind::Index,
                "trigger" => ObjectKind::Trigger,
                _ => return None,
            };
            Some((row.get::<_, String>(0), kind))
        })
        .collect()
}

/// The schema of the tables (and views) of `schema` that `tables` accepts.
/// The caller has set a `search_path` beginning with `schema`. One query per
/// catalog for all the tables, whatever their number.
pub fn read(
    client: &mut impl GenericClient,
    schema: &str,
    tables: &dyn Fn(&str) -> bool,
) -> Result<Schema, postgres::Error> {
    type Oid = postgres::types::Oid;
    let mut read = Schema::default();
    let relations = client.query_typed(
        "SELECT c.oid, c.relname::text, c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm') ORDER BY c.relname",
        &[(&schema, Type::TEXT)],
    )?;
    let (mut table_oids, mut view_oids): (Vec<Oid>, Vec<Oid>) = (Vec::new(), Vec::new());
    let mut names: BTreeMap<Oid, String> = BTreeMap::new();
    for relation in &relations {
        let (oid, name, kind): (Oid, String, &str) = (relation.get(0), relation.get(1), relation.get(2));
        if !tables(&name) {
            continue;
        }
        if matches!(kind, "v" | "m") {
            view_oids.push(oid)
        } else {
            table_oids.push(oid)
        }
        names.insert(oid, name);
    }
    for row in client.query_typed(
        "SELECT v.oid, pg_get_viewdef(v.oid, true) FROM unnest($1::oid[]) AS v(oid)",
        &[(&view_oids, Type::OID_ARRAY)],
    )? {
        let (oid, definition): (Oid, &str) = (row.get(0), row.get(1));
        if let Some(name) = names.get(&oid) {
            read.views.insert(name.clone(), normalize(&unqualified(definition, schema)));
        }
    }
    if table_oids.is_empty() {
        return Ok(read);
    }
    let mut built: BTreeMap<Oid, Table> = table_oids.iter().map(|oid| (*oid, Table::default())).collect();
    let columns = client.query_typed(
        "SELECT a.attrelid, a.attnum, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text,
                CASE WHEN a.attcollation <> t.typcollation THEN co.collname::text END
         FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         LEFT JOIN pg_collation co ON co.oid = a.attcollation
         WHERE a.attrelid = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attrelid, a.attnum",
        &[(&table_oids, Type::OID_ARRAY)],
    )?;
    let constraints = client.query_typed(
        "SELECT c.conrelid, c.contype::text, c.conname::text, c.conkey, c.confkey, f.relname::text,
                c.confupdtype::text, c.confdeltype::text, pg_get_constraintdef(c.oid, true), c.conindid, c.confrelid
         FROM pg_constraint c LEFT JOIN pg_class f ON f.oid = c.confrelid
         WHERE c.conrelid = ANY($1) ORDER BY c.conrelid, c.conname",
        &[(&table_oids, Type::OID_ARRAY)],
    )?;
    // Column names by table and number: the tables read and the tables
    // their foreign keys reference.
    let mut column_names: BTreeMap<(Oid, i16), String> = BTreeMap::new();
    let targets: Vec<Oid> = constraints
        .iter()
        .filter(|c| c.get::<_, &str>(1) == "f")
        .map(|c| c.get::<_, Oid>(10))
        .filter(|oid| !built.contains_key(oid))
        .collect();
    for row in client.query_typed(
        "SELECT attrelid, attnum, attname::text FROM pg_attribute WHERE attrelid = ANY($1) AND attnum > 0",
        &[(&targets, Type::OID_ARRAY)],
    )? {
        column_names.insert((row.get(0), row.get(1)), row.get(2));
    }
    for column in &columns {
        column_names.insert((column.get(0), column.get(1)), column.get(2));
    }
    let primary_keys: BTreeMap<Oid, Vec<i16>> = constraints
        .iter()
        .filter(|c| c.get::<_, &str>(1) == "p")
        .map(|c| (c.get(0), c.get::<_, Option<Vec<i16>>>(3).unwrap_or_default()))
        .collect();
    for column in &columns {
        let (oid, number): (Oid, i16) = (column.get(0), column.get(1));
        let Some(table) = built.get_mut(&oid) else { continue };
        let identity: &str = column.get(6);
        let default = match identity {
            "d" => Some("generated by default as identity".to_owned()),
            "a" => Some("generated always as identity".to_owned()),
            _ => column.get::<_, Option<String>>(5).map(|d| normalize(&d)),
        };
        let primary = primary_keys.get(&oid).map(Vec::as_slice).unwrap_or_default();
        table.columns.push(Column {
            name: column.get(2),
            decl_type: column.get::<_, String>(3).to_uppercase(),
            not_null: column.get(4),
            default,
            primary_key: primary.iter().position(|p| *p == number).map_or(0, |i| i as i64 + 1),
            generated: if column.get::<_, &str>(7) == "s" { 3 } else { 0 },
            collation: column.get::<_, Option<String>>(8).map(|c| c.to_lowercase()),
        });
    }
    let named = |oid: Oid, numbers: &[i16]| -> Vec<String> {
        numbers.iter().map(|n| column_names.get(&(oid, *n)).cloned().unwrap_or_default()).collect()
    };
    let mut constraint_indexes = Vec::new();
    for constraint in &constraints {
        let (oid, kind): (Oid, &str) = (constraint.get(0), constraint.get(1));
        let Some(table) = built.get_mut(&oid) else { continue };
        let keys: Vec<i16> = constraint.get::<_, Option<Vec<i16>>>(3).unwrap_or_default();
        match kind {
            "f" => {
                let references: Vec<i16> = constraint.get::<_, Option<Vec<i16>>>(4).unwrap_or_default();
                table.foreign_keys.insert(ForeignKey {
                    columns: named(oid, &keys),
                    table: constraint.get::<_, Option<String>>(5).unwrap_or_default(),
                    references: named(constraint.get(10), &references),
                    on_update: action(constraint.get(6)),
                    on_delete: action(constraint.get(7)),
                });
            }
            "c" => {
                let definition: &str = constraint.get(8);
                let expression = definition.strip_prefix("CHECK ").unwrap_or(definition);
                table.checks.insert(normalize(expression));
            }
            "p" | "u" => {
                let columns = named(oid, &keys).join(", ");
                let (origin, label) = if kind == "p" { ("pk", "primary key") } else { ("u", "unique") };
                let definition = format!("{label}({columns})");
                table.indexes.insert(definition.clone(), Index { unique: true, origin: origin.into(), definition });
                constraint_indexes.push(constraint.get::<_, Oid>(9));
            }
            _ => {}
        }
    }
    for index in client.query_typed(
        "SELECT i.indrelid, i.indexrelid, c.relname::text, i.indisunique, pg_get_indexdef(i.indexrelid)
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = ANY($1)",
        &[(&table_oids, Type::OID_ARRAY)],
    )? {
        let (oid, index_oid): (Oid, Oid) = (index.get(0), index.get(1));
        if constraint_indexes.contains(&index_oid) {
            continue;
        }
        let Some(table) = built.get_mut(&oid) else { continue };
        let definition = normalize(&unqualified(index.get::<_, &str>(4), schema));
        table.indexes.insert(index.get(2), Index { unique: index.get(3), origin: "c".into(), definition });
    }
    for row in client.query_typed(
        "SELECT tgname::text, pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = ANY($1) AND NOT tgisinternal",
        &[(&table_oids, Type::OID_ARRAY)],
    )? {
        read.triggers.insert(row.get(0), normalize(&unqualified(row.get::<_, &str>(1), schema)));
    }
    for (oid, table) in built {
        if let Some(name) = names.remove(&oid) {
            read.tables.insert(name, table);
        }
    }
    Ok(read)
}

/// `definition` (of an index, a trigger, a view) without the qualifier
/// `schema.` PostgreSQL puts on names of `schema`: the same object reads the
/// same in the operator's database and in a scratch schema.
fn unqualified(definition: &str, schema: &str) -> String {
    let mut text = definition.to_owned();
    for prefix in [format!("{}.", crate::schema::names::quoted(schema)), format!("{schema}.")] {
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(at) = rest.find(&prefix) {
            // Only where the qualifier starts a name, not inside a longer one.
            let starts_name =
                rest[..at].chars().next_back().is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '"'));
            out.push_str(&rest[..at]);
            if !starts_name {
                out.push_str(&prefix);
            }
            rest = &rest[at + prefix.len()..];
        }
        out.push_str(rest);
        text = out;
    }
    text
}

/// `pg_constraint`'s action letter as SQL says it.
fn action(letter: &str) -> String {
    match letter {
        "c" => "CASCADE",
        "n" => "SET NULL",
        "d" => "SET DEFAULT",
        "r" => "RESTRICT",
        _ => "NO ACTION",
    }
    .into()
}

/// What a plugin's role owns, as the catalog audit before commit sees it.
#[derive(Debug, Default)]
pub struct Owned {
    /// Tables and views in the plugin's schema.
    pub relations: BTreeMap<String, ObjectKind>,
    /// `schema.name` of everything the role owns outside its schema.
    pub elsewhere: Vec<String>,
    /// Temporary relations it created.
    pub temporary: Vec<String>,
    /// Functions that do not run with the plugin's privileges and a pinned
    /// `search_path` (SECURITY INVOKER, or no `SET search_path`).
    pub unsafe_functions: Vec<String>,
}

impl Owned {
    /// The first object the role owns that no plugin may make, and why: a
    /// temporary object, one outside its schema, a function that would not
    /// run with its privileges. (`runner` is the host's own function.)
    pub fn forbidden(&self, runner: &str) -> Option<(String, &'static str)> {
        if let Some(name) = self.temporary.first() {
            return Some((format!("temporary table `{name}`"), "plugins may not use temporary objects"));
        }
        if let Some(name) = self.elsewhere.first() {
            return Some((format!("`{name}`"), "a plugin's objects live in its own schema only"));
        }
        let name = self.unsafe_functions.iter().find(|f| *f != runner)?;
        Some((
            format!("function `{name}`"),
            "a function of a plugin must be SECURITY DEFINER with SET search_path FROM CURRENT: a SECURITY \
             INVOKER function (a trigger's, say) runs with the privileges of whoever writes a row, the \
             application or the host, and could write anywhere",
        ))
    }
}

/// Everything `role` owns, sorted for the audit.
pub fn owned_by(client: &mut impl GenericClient, role: &str, schema: &str) -> Result<Owned, postgres::Error> {
    Ok(owned_of(&client.query_typed(OWNED, &[(&role, Type::TEXT)])?, schema))
}

fn owned_of(rows: &[postgres::Row], schema: &str) -> Owned {
    let mut owned = Owned::default();
    for row in rows {
        // (pg_toast holds the out-of-line storage of the plugin's tables,
        // which PostgreSQL makes for it.)
        let (what, namespace, name, kind, flag): (&str, String, String, &str, bool) =
            (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
        match what {
            "function" if namespace != schema => owned.elsewhere.push(format!("{namespace}.{name}()")),
            // The flag: SECURITY DEFINER with a pinned search_path.
            "function" if !flag => owned.unsafe_functions.push(name),
            "function" => {}
            // The flag: temporary.
            _ if flag => owned.temporary.push(name),
            _ if namespace != schema => owned.elsewhere.push(format!("{namespace}.{name}")),
            _ if matches!(kind, "r" | "p") => {
                owned.relations.insert(name, ObjectKind::Table);
            }
            _ if matches!(kind, "v" | "m") => {
                owned.relations.insert(name, ObjectKind::View);
            }
            _ => {}
        }
    }
    owned
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualifiers_of_the_schema_go_and_nothing_else() {
        assert_eq!(
            unqualified("CREATE INDEX i ON ledger.t USING btree (subledger.x, \"ledger\".y)", "ledger"),
            "CREATE INDEX i ON t USING btree (subledger.x, y)"
        );
    }
}
