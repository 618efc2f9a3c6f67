//! A soundness oracle for the analyser, with PostgreSQL's row-level security as the judge:
//! every statement the analyser accepts must behave the same with RLS as without.
//!
//! [`corpus`] reads the statements the analyser's own tests accept.

pub mod corpus;
