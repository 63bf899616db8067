-- One database per service (database-per-service).
CREATE DATABASE menu;
CREATE DATABASE orders;
CREATE DATABASE deliveries;
