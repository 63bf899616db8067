//! The `DeliveryService` gRPC implementation.

use food_api::{
    ErrorCode,
    convert::{delivery_status, opt_from_timestamp},
};
use food_events::topics::Topics;
use food_kit::{
    Db,
    grpc::{db_error, error, page_error, status_filter, trace_id},
    outbox::Waker,
    page::Keyset,
};
use food_proto::delivery::v1::{
    self as pb, GetStatusRequest, ListDeliveriesRequest, ListDeliveriesResponse,
    UpdateStatusRequest, delivery_service_server::DeliveryService,
};
use tonic::{Request, Response, Status};

use crate::store::{self, Change};

const MAX_TEXT: usize = 200;

pub struct DeliveryApi {
    db: Db,
    topics: Topics,
    waker: Waker,
}

impl DeliveryApi {
    pub fn new(db: Db, topics: Topics, waker: Waker) -> Self {
        Self { db, topics, waker }
    }

    async fn update(&self, req: Request<UpdateStatusRequest>) -> Result<pb::Delivery, Status> {
        let trace = trace_id(req.metadata());
        let req = req.into_inner();
        let to = delivery_status(req.status).map_err(|_| {
            error(
                ErrorCode::InvalidArgument,
                format!("status {} is not a delivery status", req.status),
                &[("field", "status".into())],
            )
        })?;
        let courier = text(req.courier.as_deref(), "courier")?;
        let note = text(req.note.as_deref(), "note")?;
        let eta = match &req.eta {
            Some(t) => Some(opt_from_timestamp(Some(t)).ok_or_else(|| {
                error(
                    ErrorCode::InvalidArgument,
                    "eta is not a valid time",
                    &[("field", "eta".into())],
                )
            })?),
            None => None,
        };
        let mut tx = self.db.begin().await.map_err(db_error)?;
        let current = store::get_in_tx(&mut tx, &req.order_id)
            .await
            .map_err(db_error)?
            .ok_or_else(|| not_found(&req.order_id))?;
        if let Some(expected) = req.expected_version
            && expected != current.version
        {
            return Err(error(
                ErrorCode::VersionConflict,
                format!(
                    "the delivery is at version {}, not {expected}; reload and retry",
                    current.version
                ),
                &[
                    ("current_version", current.version.to_string()),
                    ("status", current.status.as_str().into()),
                ],
            ));
        }
        if let Err(e) = current.status.transition(to) {
            return Err(error(
                ErrorCode::InvalidTransition,
                e.to_string(),
                &[
                    ("from", e.from.as_str().into()),
                    ("to", e.to.as_str().into()),
                    ("current_version", current.version.to_string()),
                ],
            ));
        }
        let updated = store::change(
            &mut tx,
            &self.topics,
            &trace,
            &current,
            Change {
                to,
                courier,
                eta,
                note,
            },
        )
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        self.waker.wake();
        tracing::info!(order_id = %updated.order_id, from = %current.status, to = %to, version = updated.version, "delivery status changed");
        Ok(updated.into())
    }
}

fn text<'a>(v: Option<&'a str>, field: &str) -> Result<Option<&'a str>, Status> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) if s.chars().count() > MAX_TEXT => Err(error(
            ErrorCode::InvalidArgument,
            format!("{field} is longer than {MAX_TEXT} characters"),
            &[("field", field.to_owned())],
        )),
        other => Ok(other),
    }
}

fn not_found(id: &str) -> Status {
    error(
        ErrorCode::NotFound,
        format!("no delivery for order `{id}`"),
        &[("order_id", id.to_owned())],
    )
}

#[tonic::async_trait]
impl DeliveryService for DeliveryApi {
    #[tracing::instrument(skip_all, fields(order_id = %req.get_ref().order_id))]
    async fn get_status(
        &self,
        req: Request<GetStatusRequest>,
    ) -> Result<Response<pb::Delivery>, Status> {
        let id = &req.get_ref().order_id;
        let r = store::get(&self.db, id)
            .await
            .map_err(db_error)
            .and_then(|d| d.map(Into::into).ok_or_else(|| not_found(id)));
        r.map(Response::new)
    }

    #[tracing::instrument(skip_all, fields(order_id = %req.get_ref().order_id))]
    async fn update_status(
        &self,
        req: Request<UpdateStatusRequest>,
    ) -> Result<Response<pb::Delivery>, Status> {
        self.update(req).await.map(Response::new)
    }

    #[tracing::instrument(skip_all)]
    async fn list_deliveries(
        &self,
        req: Request<ListDeliveriesRequest>,
    ) -> Result<Response<ListDeliveriesResponse>, Status> {
        let req = req.into_inner();
        let r = async {
            let page = Keyset::parse(req.page).map_err(page_error)?;
            let status = status_filter(req.status, delivery_status)?;
            let customer = req.customer_id.as_deref().filter(|c| !c.is_empty());
            let restaurant = req.restaurant_id.as_deref().filter(|r| !r.is_empty());
            let page = store::list(&self.db, status, customer, restaurant, &page)
                .await
                .map_err(db_error)?;
            Ok(ListDeliveriesResponse {
                deliveries: page.items.into_iter().map(Into::into).collect(),
                next_cursor: page.next_cursor,
            })
        }
        .await;
        r.map(Response::new)
    }

    async fn list_couriers(
        &self,
        _req: Request<pb::ListCouriersRequest>,
    ) -> Result<Response<pb::ListCouriersResponse>, Status> {
        Err(Status::unimplemented("TODO(couriers)"))
    }

    async fn set_courier_shift(
        &self,
        _req: Request<pb::SetCourierShiftRequest>,
    ) -> Result<Response<pb::Courier>, Status> {
        Err(Status::unimplemented("TODO(couriers)"))
    }

    async fn put_courier(
        &self,
        _req: Request<pb::PutCourierRequest>,
    ) -> Result<Response<pb::Courier>, Status> {
        Err(Status::unimplemented("TODO(couriers)"))
    }
}
