-- One database per service: no service reads another's tables.
CREATE DATABASE notices;
CREATE DATABASE matching;
CREATE DATABASE notify;
