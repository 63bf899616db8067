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

/// Random walks of arbitrary `UpdateStatus` requests against the real
/// service on SQLite, checked against docs/design.md section 5 and the
/// courier rows of the auth matrix (section 7).
#[cfg(test)]
mod props {
    use food_api::{Delivery, ErrorCode};
    use food_kit::grpc::error_code;
    use food_proto::order::v1::Order;
    use proptest::prelude::*;
    use tonic::Code;

    use super::*;

    /// The walk's deliveries: three, so that a courier may carry two and
    /// claim a third over the cap. The kitchen has accepted all but
    /// [`WAITING`]'s order (a pick-up of it is refused).
    const ORDERS: [&str; 3] = ["order-1", "order-waiting", "order-3"];
    const WAITING: usize = 1;
    /// The seeded couriers, and one that does not exist.
    const COURIERS: [&str; 4] = ["courier-1", "courier-2", "courier-3", "courier-ghost"];

    /// The version a request expects, relative to the delivery's current one.
    #[derive(Clone, Copy, Debug)]
    enum Expect {
        Any,
        Current,
        Stale(u64),
        Future(u64),
    }

    /// One request of the walk.
    #[derive(Clone, Debug)]
    struct Step {
        order: usize,
        to: DeliveryStatus,
        courier: Option<&'static str>,
        /// A courier key acting, else ops.
        as_courier: Option<&'static str>,
        expect: Expect,
    }

    fn step() -> impl Strategy<Value = Step> {
        let courier = proptest::option::of(proptest::sample::select(COURIERS.to_vec()));
        let as_courier = proptest::option::of(proptest::sample::select(COURIERS[..2].to_vec()));
        let expect = prop_oneof![
            Just(Expect::Any),
            Just(Expect::Current),
            (1..3u64).prop_map(Expect::Stale),
            (1..3u64).prop_map(Expect::Future),
        ];
        (
            0..ORDERS.len(),
            proptest::sample::select(DeliveryStatus::ALL.to_vec()),
            courier,
            as_courier,
            expect,
        )
            .prop_map(|(order, to, courier, as_courier, expect)| Step {
                order,
                to,
                courier,
                as_courier,
                expect,
            })
    }

    /// docs/design.md 5: "PENDING -> ASSIGNED -> PICKED_UP -> IN_TRANSIT ->
    /// DELIVERED, and from any non-terminal status to CANCELLED or FAILED.
    /// Any other transition is refused ... with one addition: ASSIGNED ->
    /// ASSIGNED with another courier (a reassignment, ops only)".
    fn design_allows(before: &Delivery, s: &Step) -> bool {
        use DeliveryStatus::*;
        let from = before.status;
        let next = [Pending, Assigned, PickedUp, InTransit, Delivered]
            .windows(2)
            .any(|w| w == [from, s.to]);
        let reassignment = from == Assigned
            && s.to == Assigned
            && s.as_courier.is_none()
            && s.courier
                .is_some_and(|c| before.courier.as_deref() != Some(c));
        !from.is_terminal() && (next || matches!(s.to, Cancelled | Failed) || reassignment)
    }

    /// A service on a fresh SQLite database with the walk's deliveries,
    /// PENDING at version 1, and the three local couriers off shift (so
    /// that no automatic dispatch moves anything behind the walk's back).
    async fn service(
        dir: &tempfile::TempDir,
        orders: &[(&str, &str)],
        accepted: &[&str],
    ) -> DeliveryApi {
        let url = format!("sqlite://{}/delivery.db", dir.path().display());
        let db = Db::connect(&url, &crate::MIGRATIONS).await.unwrap();
        let topics = Topics::with_prefix("props.");
        let orders: Vec<Order> = orders
            .iter()
            .map(|(id, customer)| Order {
                id: (*id).to_owned(),
                customer_id: (*customer).to_owned(),
                delivery_address: "1 Main St".to_owned(),
                ..Default::default()
            })
            .collect();
        let mut tx = db.begin().await.unwrap();
        let pairs: Vec<(&str, &Order)> = orders.iter().map(|o| ("trace", o)).collect();
        store::create_many(&mut tx, &topics, &pairs).await.unwrap();
        for id in accepted {
            store::mark_accepted(&mut tx, id).await.unwrap();
        }
        tx.commit().await.unwrap();
        DeliveryApi::new(db, topics, Waker::new(), 2)
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    fn request(s: &Step, current: u64) -> UpdateStatusRequest {
        UpdateStatusRequest {
            order_id: ORDERS[s.order].to_owned(),
            status: pb::DeliveryStatus::from(s.to) as i32,
            courier: s.courier.map(str::to_owned),
            eta: None,
            note: Some("props".to_owned()),
            expected_version: match s.expect {
                Expect::Any => None,
                Expect::Current => Some(current),
                Expect::Stale(k) => Some(current.saturating_sub(k)),
                Expect::Future(k) => Some(current + k),
            },
            as_courier: s.as_courier.map(str::to_owned),
        }
    }

    async fn walk(steps: Vec<Step>) -> Result<(), TestCaseError> {
        let dir = tempfile::tempdir().unwrap();
        let orders = ORDERS.map(|id| (id, "rita"));
        let api = service(&dir, &orders, &[ORDERS[0], ORDERS[2]]).await;
        for s in steps {
            let id = ORDERS[s.order];
            let before = store::get(&api.db, id).await.unwrap().unwrap();
            let claimer_load = match s.as_courier {
                Some(me) => {
                    store::courier(api.db.reader(), me)
                        .await
                        .unwrap()
                        .unwrap()
                        .active
                }
                None => 0,
            };
            let req = request(&s, before.version);
            let expected = req.expected_version;
            let answer = api.update(Request::new(req)).await;
            let after = store::get(&api.db, id).await.unwrap().unwrap();
            match answer {
                Ok(_) => {
                    prop_assert!(
                        design_allows(&before, &s),
                        "{} -> {:?} accepted",
                        before.status,
                        s
                    );
                    // "Each change bumps a version number": by exactly one.
                    prop_assert_eq!(after.version, before.version + 1);
                    prop_assert_eq!(after.status, s.to);
                    prop_assert_eq!(after.history.len(), before.history.len() + 1);
                    prop_assert!(
                        expected.is_none_or(|v| v == before.version),
                        "{:?} accepted at {}",
                        expected,
                        before.version
                    );
                    // "a pick-up of an order still PLACED is refused"
                    prop_assert!(s.to != DeliveryStatus::PickedUp || s.order != WAITING);
                    // A courier claims for itself and moves only its own.
                    if let Some(me) = s.as_courier {
                        prop_assert_eq!(after.courier.as_deref(), Some(me));
                    }
                    // "the cap binds automatic dispatch and couriers' claims"
                    if s.as_courier.is_some() && s.to == DeliveryStatus::Assigned {
                        prop_assert!(claimer_load < 2, "a claim over the cap");
                    }
                }
                Err(status) => {
                    // "Any other transition is refused ... and changes nothing".
                    prop_assert_eq!(&after, &before, "refused {:?} changed the delivery", s);
                    let (code, _) = error_code(&status);
                    prop_assert!(
                        !matches!(status.code(), Code::Internal | Code::Unknown)
                            && code != ErrorCode::Internal,
                        "{:?} answered {:?}",
                        s,
                        status
                    );
                    if s.as_courier.is_none() && expected.is_some_and(|v| v != before.version) {
                        prop_assert_eq!(code, ErrorCode::VersionConflict);
                    }
                }
            }
            if before.status.is_terminal() {
                prop_assert_eq!(after.status, before.status, "a terminal status stays");
            }
            if s.courier == Some("courier-ghost") {
                prop_assert_eq!(&after, &before, "an unknown courier is refused");
            }
            // "active_deliveries (the number of its ASSIGNED, PICKED_UP and
            // IN_TRANSIT deliveries)", after every request.
            for courier in &COURIERS[..3] {
                let mut carried = 0;
                for order in ORDERS {
                    let d = store::get(&api.db, order).await.unwrap().unwrap();
                    carried +=
                        u32::from(d.courier.as_deref() == Some(*courier) && d.status.is_active());
                }
                let row = store::courier(api.db.reader(), courier)
                    .await
                    .unwrap()
                    .unwrap();
                prop_assert_eq!(row.active, carried, "{}'s active deliveries", courier);
            }
        }
        Ok(())
    }

    proptest! {
        // Each case starts a database: fewer cases than the default keep
        // this under a few seconds.
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn random_requests_only_make_the_changes_the_design_allows(
            steps in proptest::collection::vec(step(), 1..30)
        ) {
            runtime().block_on(walk(steps))?;
        }

        /// docs/design.md 7: a short id ("the last 8 characters") is
        /// "resolved among the orders the caller may see". Ids here share
        /// few endings, so that most short ids match several orders of
        /// several customers; a customer's lookup finds exactly its own
        /// orders ending so, and a suffix of any other length is refused.
        #[test]
        fn a_short_id_finds_exactly_the_callers_orders_ending_with_it(
            orders in proptest::collection::btree_map(
                ("[0-9a-f]{1,6}-", proptest::sample::select(vec!["e920546f", "0000abcd", "ñ1234567"])),
                proptest::sample::select(vec!["rita", "sam"]),
                1..10,
            ),
            typed in prop_oneof![Just("e920546f".to_owned()), any::<String>()],
        ) {
            let orders: Vec<(String, &str)> = orders
                .into_iter()
                .map(|((head, tail), customer)| (format!("{head}{tail}"), customer))
                .collect();
            runtime().block_on(async {
                let dir = tempfile::tempdir().unwrap();
                let refs: Vec<(&str, &str)> = orders.iter().map(|(id, c)| (id.as_str(), *c)).collect();
                let api = service(&dir, &refs, &[]).await;
                for customer in ["rita", "sam"] {
                    for suffix in ["e920546f", "0000abcd", "ñ1234567", typed.as_str()] {
                        let answer = api.list_deliveries(Request::new(ListDeliveriesRequest {
                            customer_id: Some(customer.to_owned()),
                            order_id_suffix: Some(suffix.to_owned()),
                            ..Default::default()
                        })).await;
                        if suffix.is_empty() {
                            continue; // no filter at all, as proto3 cannot tell it from unset
                        }
                        if suffix.chars().count() != 8 {
                            let e = answer.expect_err("a suffix of another length is refused");
                            prop_assert_eq!(error_code(&e).0, ErrorCode::InvalidArgument);
                            continue;
                        }
                        let mut found: Vec<String> = answer.unwrap().into_inner().deliveries
                            .into_iter().map(|d| d.order_id).collect();
                        found.sort();
                        let mut expected: Vec<String> = orders.iter()
                            .filter(|(id, c)| *c == customer && food_api::short_id(id) == suffix)
                            .map(|(id, _)| id.clone()).collect();
                        expected.sort();
                        prop_assert_eq!(found, expected, "{} looking up {}", customer, suffix);
                    }
                }
                Ok(())
            })?;
        }
    }
}
