//! `tenantry check`: audits the SQL of an existing sqlx or sqlc code base for statements
//! that are not confined to one tenant.

pub mod judge;
pub mod literal;
pub mod params;
