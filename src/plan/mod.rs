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
    append_plan, discover, fetch_offerings, new_plan, product_spec, rows_per_sheet, Discovered,
    DiscoveryFilters, PlanSummary,
};
pub use error::PlanError;
pub use model::{
    deployment_key, Column, Config, Method, Offerings, OptionSpec, PlanRow, ProductExt,
    ProductSpec, SheetKind, SourceKey, SplitRange,
};
pub use options::{check_options, format_options, pair_problem, parse_options};
pub use read::{read_workbook, recorded_offerings, ReadBook};
pub use run::{drop_removed, engine_settings, engine_spec, DropReport};
pub use split::split_range;
pub use tasks::{plan_tasks, source_label, PlannedTask};
pub use validate::{
    column_letter, parse_config, parse_time_cell, row_source_keys, validate, Problem, Report,
    RequestRow, ValidPlan,
};
pub use workbook::{
    append_rows, config_table, empty_request_table, excel_serial, from_excel_serial,
    write_workbook, Cell, PlanWorkbook, Table, TableRow, CONFIG_SHEET, OFFERINGS_SHEET,
    PRODUCT_OPTIONS_SHEET,
};

#[cfg(test)]
mod tests;
