void mw_wire_anchor(void);
