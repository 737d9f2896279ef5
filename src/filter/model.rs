//! The data model: business fields (`student.lastName`) mapped to tables,
//! columns and joins. Filters may only name fields the model lists, which is
//! what lets a filter be compiled to SQL without trusting its author.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::FilterError;

/// How a field's values are compared and bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum FieldType {
    /// Text (the default).
    #[default]
    Text,
    /// Whole numbers.
    Integer,
    /// Decimal numbers.
    Number,
    /// Dates: values are bound as `YYYY-MM-DD` text cast to DATE.
    Date,
    /// true / false.
    Boolean,
}

/// One business field.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Field {
    /// The column in the entity's table.
    pub column: String,
    /// Its type.
    #[serde(default, rename = "type")]
    pub kind: FieldType,
    /// The right a filter's owner needs to use it (sensitive data).
    pub right: Option<String>,
}

/// A table and how it joins to the rest.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Entity {
    /// The SQL table behind the entity.
    pub table: String,
    /// The join condition (SQL over entity names), absent for the root.
    pub join: Option<String>,
    /// Entities that must be joined first.
    #[serde(default)]
    pub requires: Vec<String>,
    /// Its fields by name.
    pub fields: BTreeMap<String, Field>,
}

/// Every entity and field filters may name: nothing outside it reaches SQL.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Model {
    /// The entity every filter starts from.
    pub root: String,
    /// The field holding the school year every filter is scoped to.
    pub scope: Option<String>,
    /// Entities by name.
    pub entities: BTreeMap<String, Entity>,
}

/// A resolved `entity.field`.
#[derive(Clone, Debug)]
pub(crate) struct FieldRef<'m> {
    pub entity: &'m str,
    pub name: &'m str,
    /// Its definition.
    pub field: &'m Field,
}

impl FieldRef<'_> {
    /// `entity.column`, the SQL for the value.
    pub(crate) fn sql(&self) -> String {
        format!("{}.{}", self.entity, self.field.column)
    }
}

/// Plain SQL identifiers only: the model is trusted, but a typo should not
/// become SQL.
fn identifier(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_alphabetic() || f == '_') && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

impl Model {
    /// Parses and checks a model file's text.
    pub(crate) fn parse(text: &str, origin: &str) -> Result<Model, FilterError> {
        let model: Model = toml::from_str(text).map_err(|e| FilterError::Model {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
        let bad = |message: String| FilterError::Model {
            origin: origin.to_string(),
            message,
        };
        if !model.entities.contains_key(&model.root) {
            return Err(bad(format!("root entity '{}' is not defined", model.root)));
        }
        for (name, e) in &model.entities {
            if !identifier(name) || !identifier(&e.table) {
                return Err(bad(format!(
                    "entity '{name}' (table '{}'): names must be plain identifiers",
                    e.table
                )));
            }
            if name != &model.root && e.join.is_none() {
                return Err(bad(format!("entity '{name}' needs a join condition")));
            }
            for r in &e.requires {
                if !model.entities.contains_key(r) {
                    return Err(bad(format!("entity '{name}' requires unknown entity '{r}'")));
                }
            }
            for (f, field) in &e.fields {
                if !identifier(f) || !identifier(&field.column) {
                    return Err(bad(format!(
                        "field '{name}.{f}' (column '{}'): names must be plain identifiers",
                        field.column
                    )));
                }
            }
        }
        if let Some(scope) = &model.scope {
            model
                .field(scope)
                .map_err(|_| bad(format!("scope '{scope}' is not a field of the model")))?;
        }
        Ok(model)
    }

    /// Resolves `entity.field`, or says which fields exist.
    pub(crate) fn field<'m>(&'m self, path: &str) -> Result<FieldRef<'m>, FilterError> {
        let unknown = || FilterError::UnknownField {
            field: path.to_string(),
            known: self.field_names().join(", "),
        };
        let (entity, name) = path.split_once('.').ok_or_else(unknown)?;
        let (ename, e) = self.entities.get_key_value(entity).ok_or_else(unknown)?;
        let (fname, field) = e.fields.get_key_value(name).ok_or_else(unknown)?;
        Ok(FieldRef {
            entity: ename,
            name: fname,
            field,
        })
    }

    /// Every `entity.field`, sorted.
    pub(crate) fn field_names(&self) -> Vec<String> {
        self.entities
            .iter()
            .flat_map(|(e, ent)| ent.fields.keys().map(move |f| format!("{e}.{f}")))
            .collect()
    }

    /// The entities to join for `needed`, each after what it requires, root first.
    pub(crate) fn join_order(&self, needed: &[&str]) -> Vec<&str> {
        let mut order: Vec<&str> = vec![self.root.as_str()];
        fn visit<'m>(m: &'m Model, e: &'m str, order: &mut Vec<&'m str>) {
            if order.contains(&e) {
                return;
            }
            if let Some(ent) = m.entities.get(e) {
                for r in &ent.requires {
                    visit(m, r, order);
                }
            }
            order.push(e);
        }
        for e in needed {
            if let Some((name, _)) = self.entities.get_key_value(*e) {
                visit(self, name, &mut order);
            }
        }
        order
    }
}
