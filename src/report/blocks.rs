//! The report as a document of plain blocks (paragraphs, lists, tables of
//! text) in titled sections: what the sections are built into and what
//! `render` writes as Markdown or HTML.

use super::lang::Lang;

/// One block of a section.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A paragraph.
    Para(String),
    /// A bulleted list.
    List(Vec<String>),
    /// A table: header and rows.
    Table(Vec<String>, Vec<Vec<String>>),
}

/// A titled section.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Its heading.
    pub heading: String,
    /// Its content.
    pub blocks: Vec<Block>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The language it is written in.
    pub lang: Lang,
    /// The title.
    pub title: String,
    /// The sections, in order.
    pub sections: Vec<Section>,
}
