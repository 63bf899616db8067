//! The menu API's one error type and its one conversion to `tonic::Status`,
//! which carries a machine code and the offending field in the details.

use food_api::ErrorCode;
use tonic::Status;

use crate::domain::BatchError;

#[derive(Debug, thiserror::Error)]
pub enum MenuError {
    /// A request field is wrong; `field` is its path, e.g. `page.limit`.
    #[error("{field}: {reason}")]
    InvalidArgument { field: String, reason: String },
    #[error("no menu item with id {0:?}")]
    NotFound(String),
    #[error("no restaurant with id {0:?}")]
    RestaurantNotFound(String),
    #[error(transparent)]
    Import(#[from] BatchError),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

impl MenuError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidArgument {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// A page request refused by the page rule, naming `page.limit` or `page.cursor`.
    pub fn page(e: food_api::PageError) -> Self {
        Self::invalid(format!("page.{}", e.field()), e.to_string())
    }
}

impl From<MenuError> for Status {
    fn from(e: MenuError) -> Self {
        let message = e.to_string();
        match e {
            MenuError::InvalidArgument { field, .. } => {
                food_kit::grpc::error(ErrorCode::InvalidArgument, message, &[("field", field)])
            }
            MenuError::NotFound(id) | MenuError::RestaurantNotFound(id) => {
                food_kit::grpc::error(ErrorCode::NotFound, message, &[("id", id)])
            }
            MenuError::Import(batch) => {
                let mut fields = vec![("field", batch.field())];
                if let Some(index) = batch.index() {
                    fields.push(("index", index.to_string()));
                }
                food_kit::grpc::error(ErrorCode::InvalidArgument, message, &fields)
            }
            MenuError::Db(e) => food_kit::grpc::db_error(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use food_kit::grpc::error_code;
    use tonic::Code;

    use super::*;
    use crate::domain::FieldError;

    #[test]
    fn a_refused_import_names_the_item_and_field_in_the_details() {
        let status = Status::from(MenuError::Import(BatchError::Item {
            index: 2,
            error: FieldError {
                field: "currency",
                reason: "bad".into(),
            },
        }));
        assert_eq!(status.code(), Code::InvalidArgument);
        let (code, fields) = error_code(&status);
        assert_eq!(code, ErrorCode::InvalidArgument);
        assert_eq!(fields["field"], "items[2].currency");
        assert_eq!(fields["index"], "2");
    }

    #[test]
    fn a_missing_item_is_not_found_with_its_id() {
        let status = Status::from(MenuError::NotFound("nope".into()));
        assert_eq!(status.code(), Code::NotFound);
        let (code, fields) = error_code(&status);
        assert_eq!(code, ErrorCode::NotFound);
        assert_eq!(fields["id"], "nope");
    }

    #[test]
    fn an_item_of_an_unknown_restaurant_names_its_restaurant_id_field() {
        let status = Status::from(MenuError::Import(BatchError::UnknownRestaurant {
            index: 7,
            restaurant_id: "nowhere".into(),
        }));
        assert_eq!(status.code(), Code::InvalidArgument);
        let (code, fields) = error_code(&status);
        assert_eq!(code, ErrorCode::InvalidArgument);
        assert_eq!(fields["field"], "items[7].restaurant_id");
        assert_eq!(fields["index"], "7");
        assert!(status.message().contains("nowhere"), "{}", status.message());
    }

    #[test]
    fn a_missing_restaurant_is_not_found_with_its_id() {
        let status = Status::from(MenuError::RestaurantNotFound("nope".into()));
        assert_eq!(status.code(), Code::NotFound);
        let (code, fields) = error_code(&status);
        assert_eq!(code, ErrorCode::NotFound);
        assert_eq!(fields["id"], "nope");
        assert!(status.message().contains("restaurant"));
    }

    #[test]
    fn database_errors_do_not_leak_sql_to_clients() {
        let status = Status::from(MenuError::Db(sqlx::Error::Protocol("SELECT secret".into())));
        assert_eq!(status.code(), Code::Unavailable);
        assert!(!status.message().contains("SELECT"));
    }
}
