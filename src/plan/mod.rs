//! Discovery → plan rows (by location / by device), the XLSX workbook (rows + Configuration
//! sheet) read and write, date-range splitting → engine tasks.
//!
//! The workflow follows ONC's `downloadONC.py createXLS` / `download`: `plan` walks discovery
//! and writes a workbook a researcher edits; `download` reads it back as left (rows deleted or
//! added, columns reordered, extra columns), validates every row before anything is sent,
//! splits rows by `splitDateRange` and turns them into data-product orders with stable keys,
//! which the engine runs; rows removed from the workbook leave their tasks `dropped`.
//!
//! Must not know: hydrophone specifics.

mod discover;
mod error;
mod model;
mod options;
mod read;
mod run;
mod split;
mod tasks;
mod validate;
mod workbook;

pub use discover::{
    append_plan, discover, fetch_offerings, new_plan, rows_per_sheet, Discovered, DiscoveryFilters,
    PlanSummary,
};
pub use error::PlanError;
pub use model::{
    Column, Config, Method, Offerings, OptionSpec, PlanRow, ProductSpec, SheetKind, SourceKey,
    SplitRange,
};
pub use options::{check_options, pair_problem};
pub use read::{read_workbook, recorded_offerings, ReadBook};
pub use run::{drop_removed, engine_settings, engine_spec, DropReport};

pub use tasks::{plan_tasks, source_label, PlannedTask};
pub use validate::{
    parse_config, row_source_keys, validate, Problem, Report, RequestRow, ValidPlan,
};
pub use workbook::{empty_request_table, write_workbook, Cell, PlanWorkbook, Table, TableRow};

#[cfg(test)]
mod tests;
