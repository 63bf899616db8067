//! Whole-system tests live in `e2e/`: they start a real `food-stack` (broker
//! process, three services, gateway) and drive it through the gateway.
