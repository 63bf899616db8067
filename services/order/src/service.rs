//! The `OrderService` gRPC implementation.

use chrono::Utc;
use food_api::{ErrorCode, Order, OrderStatus};
use food_events::{Payload, new_envelope, topics::Topics};
use food_kit::{
    Db,
    grpc::{db_error, error, page_error, status_filter, trace_id},
    outbox::{OutboxMessage, Waker, enqueue},
    page::Keyset,
};
use food_proto::{
    events::v1::{OrderCancelled, OrderStatusChanged},
    order::v1::{
        self as pb, CancelOrderRequest, CreateOrderRequest, GetOrderRequest, ListOrdersRequest,
        ListOrdersResponse, order_service_server::OrderService,
    },
};
use tonic::{Request, Response, Status};

use crate::{
    menu::MenuItems,
    pricing,
    store::{self, Committer, NewOrder, Stored},
    validate,
};

pub struct OrderApi {
    db: Db,
    menu: MenuItems,
    committer: Committer,
    topics: Topics,
    waker: Waker,
}

impl OrderApi {
    pub fn new(
        db: Db,
        menu: MenuItems,
        committer: Committer,
        topics: Topics,
        waker: Waker,
    ) -> Self {
        Self {
            db,
            menu,
            committer,
            topics,
            waker,
        }
    }

    async fn create(&self, req: Request<CreateOrderRequest>) -> Result<pb::Order, Status> {
        let trace = trace_id(req.metadata());
        let valid = validate::create_order(req.get_ref())?;
        let hash = valid.request_hash();
        if let Some(key) = &valid.idempotency_key
            && let Some(existing) = self.replay(&valid.customer_id, key, &hash).await?
        {
            return Ok(existing.into());
        }
        let order = self.price(&valid).await?;
        let stored = self
            .committer
            .store(NewOrder {
                order,
                idempotency_key: valid.idempotency_key.clone(),
                request_hash: hash.clone(),
                trace_id: trace,
            })
            .await
            .map_err(db_error)?;
        match stored {
            Stored::Created(order) => {
                tracing::info!(
                    order_id = %order.id,
                    customer_id = %order.customer_id,
                    restaurant_id = order.restaurant_id.as_deref().unwrap_or_default(),
                    total_cents = order.total_cents,
                    "order placed"
                );
                Ok(order.into())
            }
            Stored::KeyTaken => {
                let key = valid.idempotency_key.as_deref().unwrap_or_default();
                match self.replay(&valid.customer_id, key, &hash).await? {
                    Some(o) => Ok(o.into()),
                    None => Err(error(
                        ErrorCode::Unavailable,
                        "idempotency key race, retry",
                        &[],
                    )),
                }
            }
        }
    }

    /// The first order made with this key, if the request is the same; a
    /// different request with the same key is ALREADY_EXISTS.
    async fn replay(
        &self,
        customer_id: &str,
        key: &str,
        hash: &str,
    ) -> Result<Option<Order>, Status> {
        match store::find_by_key(&self.db, customer_id, key)
            .await
            .map_err(db_error)?
        {
            None => Ok(None),
            Some((order, h)) if h == hash => Ok(Some(order)),
            Some((order, _)) => Err(error(
                ErrorCode::IdempotencyConflict,
                "this idempotency key was used for a different order",
                &[("field", "idempotency_key".into()), ("order_id", order.id)],
            )),
        }
    }

    /// Prices the lines from the menu (see `pricing` for the checks and
    /// their order); client prices are never trusted.
    async fn price(&self, v: &validate::Valid) -> Result<Order, Status> {
        let mut ids: Vec<String> = v.lines.iter().map(|(id, _)| id.clone()).collect();
        ids.sort();
        ids.dedup();
        let found = self.menu.get(&ids).await.map_err(|s| {
            tracing::warn!(code = ?s.code(), message = s.message(), "menu-service call failed");
            error(
                ErrorCode::Unavailable,
                "the menu service is unavailable, try again",
                &[("dependency", "menu".into())],
            )
        })?;
        // Stored as microseconds: answer with what a later read returns.
        let now = food_kit::db::micros_to_datetime(Utc::now().timestamp_micros());
        pricing::price(v, &found, uuid::Uuid::now_v7().to_string(), now)
    }

    async fn cancel(&self, req: Request<CancelOrderRequest>) -> Result<pb::Order, Status> {
        let trace = trace_id(req.metadata());
        let req = req.into_inner();
        let mut tx = self.db.begin().await.map_err(db_error)?;
        let Some(store::Current {
            status,
            customer_id,
            ..
        }) = store::current_in_tx(&mut tx, &req.id)
            .await
            .map_err(db_error)?
        else {
            return Err(not_found(&req.id));
        };
        if status == OrderStatus::Cancelled {
            // Cancelling twice is not an error: the caller's wish holds.
            drop(tx);
            return self.get(&req.id).await;
        }
        if !status.is_cancellable() {
            return Err(error(
                ErrorCode::NotCancellable,
                format!("the order is {status}; it can be cancelled only before pick-up"),
                &[("status", status.as_str().into())],
            ));
        }
        store::set_status(&mut tx, &req.id, OrderStatus::Cancelled, None)
            .await
            .map_err(db_error)?;
        let cancelled = new_envelope(
            &trace,
            Payload::OrderCancelled(OrderCancelled {
                order_id: req.id.clone(),
                customer_id,
                reason: req.reason.clone(),
            }),
        );
        let changed = new_envelope(
            &trace,
            Payload::OrderStatusChanged(OrderStatusChanged {
                order_id: req.id.clone(),
                previous: pb::OrderStatus::from(status) as i32,
                status: pb::OrderStatus::Cancelled as i32,
                // TODO(kitchen): the whole order.
                order: None,
            }),
        );
        for env in [&cancelled, &changed] {
            enqueue(
                &mut tx,
                &OutboxMessage::event(&self.topics.orders, &req.id, env),
            )
            .await
            .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)?;
        self.waker.wake();
        tracing::info!(order_id = %req.id, "order cancelled");
        self.get(&req.id).await
    }

    async fn get(&self, id: &str) -> Result<pb::Order, Status> {
        store::get_order(&self.db, id)
            .await
            .map_err(db_error)?
            .map(Into::into)
            .ok_or_else(|| not_found(id))
    }
}

fn not_found(id: &str) -> Status {
    error(
        ErrorCode::NotFound,
        format!("no order `{id}`"),
        &[("order_id", id.to_owned())],
    )
}

#[tonic::async_trait]
impl OrderService for OrderApi {
    #[tracing::instrument(skip_all, fields(customer_id = %req.get_ref().customer_id))]
    async fn create_order(
        &self,
        req: Request<CreateOrderRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        self.create(req).await.map(Response::new)
    }

    #[tracing::instrument(skip_all, fields(order_id = %req.get_ref().id))]
    async fn get_order(
        &self,
        req: Request<GetOrderRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        self.get(&req.get_ref().id).await.map(Response::new)
    }

    #[tracing::instrument(skip_all)]
    async fn list_orders(
        &self,
        req: Request<ListOrdersRequest>,
    ) -> Result<Response<ListOrdersResponse>, Status> {
        let req = req.into_inner();
        let r = async {
            let page = Keyset::parse(req.page).map_err(page_error)?;
            let status = status_filter(req.status, food_api::convert::order_status)?;
            let customer = req.customer_id.as_deref().filter(|c| !c.is_empty());
            let restaurant = req.restaurant_id.as_deref().filter(|r| !r.is_empty());
            let page = store::list_orders(&self.db, customer, restaurant, status, &page)
                .await
                .map_err(db_error)?;
            Ok(ListOrdersResponse {
                orders: page.items.into_iter().map(Into::into).collect(),
                next_cursor: page.next_cursor,
            })
        }
        .await;
        r.map(Response::new)
    }

    #[tracing::instrument(skip_all, fields(order_id = %req.get_ref().id))]
    async fn cancel_order(
        &self,
        req: Request<CancelOrderRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        self.cancel(req).await.map(Response::new)
    }

    async fn accept_order(
        &self,
        _req: Request<pb::AcceptOrderRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        Err(Status::unimplemented("TODO(kitchen)"))
    }

    async fn reject_order(
        &self,
        _req: Request<pb::RejectOrderRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        Err(Status::unimplemented("TODO(kitchen)"))
    }

    async fn mark_ready(
        &self,
        _req: Request<pb::MarkReadyRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        Err(Status::unimplemented("TODO(kitchen)"))
    }
}
