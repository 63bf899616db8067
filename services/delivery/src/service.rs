//! The `DeliveryService` gRPC implementation.

use food_api::{
    DeliveryStatus, ErrorCode,
    convert::{delivery_status, opt_from_timestamp},
};
use food_events::topics::Topics;
use food_kit::{
    Db,
    grpc::{db_error, error, page_error, status_filter, trace_id},
    outbox::Waker,
};
use food_proto::delivery::v1::{
    self as pb, GetStatusRequest, ListDeliveriesRequest, ListDeliveriesResponse,
    UpdateStatusRequest, delivery_service_server::DeliveryService,
};
use tonic::{Request, Response, Status};

use crate::store::{self, Change, Filter, Span};

const MAX_TEXT: usize = 200;
/// The longest courier name, in characters.
const MAX_COURIER_NAME: usize = 80;
/// The longest courier id, in characters.
const MAX_COURIER_ID: usize = 64;

pub struct DeliveryApi {
    db: Db,
    topics: Topics,
    waker: Waker,
    /// `max_active_per_courier`: binds dispatch and couriers' claims.
    cap: u32,
}

impl DeliveryApi {
    pub fn new(db: Db, topics: Topics, waker: Waker, cap: u32) -> Self {
        Self {
            db,
            topics,
            waker,
            cap,
        }
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
        let as_courier = text(req.as_courier.as_deref(), "as_courier")?;
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
        if let (Some(me), Some(other)) = (as_courier, courier)
            && me != other
        {
            return Err(error(
                ErrorCode::PermissionDenied,
                format!("courier `{me}` cannot act for courier `{other}`"),
                &[("field", "courier".into())],
            ));
        }
        // The courier the delivery will have: the one named, else a
        // courier's own id when it claims.
        let courier = courier.or(as_courier.filter(|_| to == DeliveryStatus::Assigned));
        let mut tx = self.db.begin().await.map_err(db_error)?;
        // First: the change may take a courier's capacity or free it, and
        // its outbox row must commit in id order (see `lock_dispatch`).
        store::lock_dispatch(&mut tx).await.map_err(db_error)?;
        let current = store::get_in_tx(&mut tx, &req.order_id)
            .await
            .map_err(db_error)?
            .ok_or_else(|| not_found(&req.order_id))?;
        if let Some(me) = as_courier {
            match current.courier.as_deref() {
                // Another courier's delivery does not exist for this one.
                Some(holder) if holder != me => return Err(not_found(&req.order_id)),
                Some(_) => {}
                None if to != DeliveryStatus::Assigned => {
                    return Err(error(
                        ErrorCode::PermissionDenied,
                        format!(
                            "the delivery of order `{}` is not assigned to courier `{me}`; claim it first (ASSIGNED)",
                            req.order_id
                        ),
                        &[("order_id", req.order_id.clone())],
                    ));
                }
                None => {}
            }
        }
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
        // ASSIGNED -> ASSIGNED with another courier: ops reassigning.
        let reassignment = current.status == DeliveryStatus::Assigned
            && to == DeliveryStatus::Assigned
            && as_courier.is_none()
            && courier.is_some_and(|c| current.courier.as_deref() != Some(c));
        if !reassignment && let Err(e) = current.status.transition(to) {
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
        if let Some(id) = courier {
            let known = store::courier(&mut *tx, id).await.map_err(db_error)?;
            let Some(known) = known else {
                return Err(error(
                    ErrorCode::UnknownCourier,
                    format!("there is no courier `{id}`"),
                    &[("field", "courier".into()), ("courier", id.to_owned())],
                ));
            };
            // A courier's claim is bound by the cap; ops are not.
            if as_courier.is_some() && to == DeliveryStatus::Assigned && known.active >= self.cap {
                return Err(error(
                    ErrorCode::InvalidTransition,
                    format!(
                        "courier `{id}` already carries {} active deliveries, the most one courier may (max_active_per_courier = {}); deliver one first",
                        known.active, self.cap
                    ),
                    &[
                        ("courier", id.to_owned()),
                        ("active_deliveries", known.active.to_string()),
                        ("max_active_per_courier", self.cap.to_string()),
                    ],
                ));
            }
        } else if to == DeliveryStatus::Assigned && current.courier.is_none() {
            return Err(error(
                ErrorCode::InvalidArgument,
                "ASSIGNED needs a courier",
                &[("field", "courier".into())],
            ));
        }
        if to == DeliveryStatus::PickedUp
            && !store::is_accepted(&mut tx, &current.order_id)
                .await
                .map_err(db_error)?
        {
            return Err(error(
                ErrorCode::NotAccepted,
                format!(
                    "the kitchen has not accepted order `{}` yet; it cannot be picked up",
                    current.order_id
                ),
                &[("order_id", current.order_id.clone())],
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
        .map_err(|e| match e {
            // Changed by another transaction since it was read.
            sqlx::Error::RowNotFound => error(
                ErrorCode::VersionConflict,
                "the delivery changed meanwhile; reload and retry",
                &[],
            ),
            e => db_error(e),
        })?;
        // A courier this change freed takes what waits.
        let moved_away = current
            .courier
            .as_deref()
            .is_some_and(|c| courier.is_some_and(|new| new != c));
        if to.is_terminal() || moved_away {
            store::dispatch_waiting(&mut tx, &self.topics, &trace, self.cap)
                .await
                .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)?;
        self.waker.wake();
        tracing::info!(order_id = %updated.order_id, from = %current.status, to = %to, version = updated.version, courier = ?updated.courier, "delivery status changed");
        Ok(updated.into())
    }

    async fn shift(&self, req: Request<pb::SetCourierShiftRequest>) -> Result<pb::Courier, Status> {
        let trace = trace_id(req.metadata());
        let req = req.into_inner();
        let mut tx = self.db.begin().await.map_err(db_error)?;
        store::lock_dispatch(&mut tx).await.map_err(db_error)?;
        let Some(before) = store::set_shift(&mut tx, &req.courier_id, req.on_shift)
            .await
            .map_err(db_error)?
        else {
            return Err(unknown_courier(&req.courier_id));
        };
        let assigned = if req.on_shift {
            store::dispatch_waiting(&mut tx, &self.topics, &trace, self.cap)
                .await
                .map_err(db_error)?
        } else {
            Vec::new()
        };
        let after = store::courier(&mut *tx, &req.courier_id)
            .await
            .map_err(db_error)?
            .unwrap_or(before);
        tx.commit().await.map_err(db_error)?;
        if !assigned.is_empty() {
            self.waker.wake();
        }
        tracing::info!(courier = %after.id, on_shift = after.on_shift, active = after.active, dispatched = assigned.len(), "courier shift set");
        Ok(food_api::Courier::from(after).into())
    }

    async fn put(&self, req: pb::PutCourierRequest) -> Result<pb::Courier, Status> {
        let id = req.courier_id.trim();
        let valid_id = !id.is_empty()
            && id.chars().count() <= MAX_COURIER_ID
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !valid_id {
            return Err(error(
                ErrorCode::InvalidArgument,
                format!(
                    "a courier id is 1 to {MAX_COURIER_ID} letters, digits, `-`, `_` or `.`; got `{id}`"
                ),
                &[("field", "courier_id".into())],
            ));
        }
        let name = req.name.trim();
        food_kit::grpc::printable(name, "name")?;
        if name.is_empty() || name.chars().count() > MAX_COURIER_NAME {
            return Err(error(
                ErrorCode::InvalidArgument,
                format!("a courier's name is 1 to {MAX_COURIER_NAME} characters"),
                &[("field", "name".into())],
            ));
        }
        let mut tx = self.db.begin().await.map_err(db_error)?;
        let courier = store::put_courier(&mut tx, id, name)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        tracing::info!(courier = %courier.id, name = %courier.name, "courier saved");
        Ok(food_api::Courier::from(courier).into())
    }
}

/// A filter's value, if one was given.
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|c| !c.is_empty())
}

/// The characters of a short id: an order id's last 8 ([`food_api::short_id`]).
const SHORT_ID_CHARS: usize = 8;

/// The `order_id_suffix` filter: anything but 8 characters can match nothing
/// the index holds, so it is refused rather than answered with an empty list.
fn order_id_suffix(v: Option<&str>) -> Result<Option<&str>, Status> {
    match v {
        Some(s) if s.chars().count() != SHORT_ID_CHARS => Err(error(
            ErrorCode::InvalidArgument,
            format!(
                "order_id_suffix is an order id's last {SHORT_ID_CHARS} characters, got {} ({s:?})",
                s.chars().count()
            ),
            &[("field", "order_id_suffix".to_owned())],
        )),
        other => Ok(other),
    }
}

fn unknown_courier(id: &str) -> Status {
    error(
        ErrorCode::NotFound,
        format!("no courier `{id}`"),
        &[("courier_id", id.to_owned())],
    )
}

fn text<'a>(v: Option<&'a str>, field: &str) -> Result<Option<&'a str>, Status> {
    if let Some(v) = v {
        food_kit::grpc::printable(v, field)?;
    }
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
            let span = Span::parse(req.page).map_err(page_error)?;
            let filter = Filter {
                status: status_filter(req.status, delivery_status)?,
                customer_id: given(&req.customer_id),
                restaurant_id: given(&req.restaurant_id),
                courier_id: given(&req.courier_id),
                visible_to_courier: given(&req.visible_to_courier),
                short_id: order_id_suffix(given(&req.order_id_suffix))?,
            };
            let page = store::list(&self.db, &filter, &span)
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

    #[tracing::instrument(skip_all)]
    async fn list_couriers(
        &self,
        req: Request<pb::ListCouriersRequest>,
    ) -> Result<Response<pb::ListCouriersResponse>, Status> {
        let couriers = store::couriers(self.db.reader(), req.get_ref().on_shift)
            .await
            .map_err(db_error)?;
        Ok(Response::new(pb::ListCouriersResponse {
            couriers: couriers
                .into_iter()
                .map(|c| food_api::Courier::from(c).into())
                .collect(),
        }))
    }

    #[tracing::instrument(skip_all, fields(courier_id = %req.get_ref().courier_id))]
    async fn set_courier_shift(
        &self,
        req: Request<pb::SetCourierShiftRequest>,
    ) -> Result<Response<pb::Courier>, Status> {
        self.shift(req).await.map(Response::new)
    }

    #[tracing::instrument(skip_all, fields(courier_id = %req.get_ref().courier_id))]
    async fn put_courier(
        &self,
        req: Request<pb::PutCourierRequest>,
    ) -> Result<Response<pb::Courier>, Status> {
        self.put(req.into_inner()).await.map(Response::new)
    }
}
