// Behavioural model of the Lattice ECP5 DP16KD block RAM, for simulation only: the subset that
// hw/common/bram.py instantiates (port A writes, port B reads, both in one of the 16384x1 ..
// 1024x18 configurations, the same on both ports, port B's output register (REGMODE_B "OUTREG")
// or none; or the 512x36 pseudo-dual-port mode, port A writing DIA:DIB under the byte enables
// AD[3:0], the read word leaving on DOA (low half, through port A's output register) and DOB
// (high half, port B's); synchronous reset; chip selects decoding 0b000). Written from Lattice's
// ECP5 sysMEM usage guide (TN1264) and Yosys's brams_map_16kd.v / brams_map.v, not from a vendor
// model; other configurations stop the simulation. Assumed where the guide is silent: with
// OUTREG, RST clears the output register only (not the read stage), and the reset is not gated
// by OCE; in the 36-bit mode, the DOA half is registered by port A's output register (OCEA, RSTA).
// The memory starts at zero (no INITVAL). verif/common/test_bram_ecp5.py runs it against the
// generic memory.
/* verilator lint_off UNUSEDSIGNAL */
/* verilator lint_off UNUSEDPARAM */
module DP16KD #(
    parameter DATA_WIDTH_A = 18,
    parameter DATA_WIDTH_B = 18,
    parameter REGMODE_A = "NOREG",
    parameter REGMODE_B = "NOREG",
    parameter RESETMODE = "SYNC",
    parameter ASYNC_RESET_RELEASE = "SYNC",
    parameter CSDECODE_A = "0b000",
    parameter CSDECODE_B = "0b000",
    parameter WRITEMODE_A = "NORMAL",
    parameter WRITEMODE_B = "NORMAL",
    parameter GSR = "ENABLED"
) (
    input DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6, DIA5, DIA4, DIA3, DIA2, DIA1, DIA0,
    input ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0,
    input CEA, OCEA, CLKA, WEA, RSTA,
    input CSA2, CSA1, CSA0,
    output DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2, DOA1, DOA0,
    input DIB17, DIB16, DIB15, DIB14, DIB13, DIB12, DIB11, DIB10, DIB9, DIB8, DIB7, DIB6, DIB5, DIB4, DIB3, DIB2, DIB1, DIB0,
    input ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0,
    input CEB, OCEB, CLKB, WEB, RSTB,
    input CSB2, CSB1, CSB0,
    output DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2, DOB1, DOB0
);
    localparam W = DATA_WIDTH_A;
    localparam WIDE = W == 36;
    // Address bits below the word: AD[LOW-1:0] (byte enables for 18- and 36-bit words).
    localparam LOW = W == 36 ? 5 : W == 18 ? 4 : W == 9 ? 3 : W == 4 ? 2 : W == 2 ? 1 : 0;
    localparam DEPTH = 16384 >> LOW;
    initial begin
        if (DATA_WIDTH_A != DATA_WIDTH_B || !(W == 1 || W == 2 || W == 4 || W == 9 || W == 18 || W == 36)
                || !(REGMODE_B == "NOREG" || REGMODE_B == "OUTREG")
                || (WIDE ? REGMODE_A != REGMODE_B : REGMODE_A != "NOREG")
                || RESETMODE != "SYNC" || CSDECODE_A != "0b000" || CSDECODE_B != "0b000"
                || WRITEMODE_A != "NORMAL")
            $fatal(1, "DP16KD model: only equal port widths, port A NOREG (36 bits: as port B), sync reset, CSDECODE 0b000");
    end
    wire [17:0] dia = {DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6, DIA5, DIA4, DIA3, DIA2, DIA1, DIA0};
    wire [17:0] dib = {DIB17, DIB16, DIB15, DIB14, DIB13, DIB12, DIB11, DIB10, DIB9, DIB8, DIB7, DIB6, DIB5, DIB4, DIB3, DIB2, DIB1, DIB0};
    wire [35:0] din = {dib, dia};
    wire [13:0] ada = {ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0};
    wire [13:0] adb = {ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0};
    wire sel_a = {CSA2, CSA1, CSA0} == 3'b000;
    wire sel_b = {CSB2, CSB1, CSB0} == 3'b000;
    wire [13-LOW:0] addr_a = ada[13:LOW];
    wire [13-LOW:0] addr_b = adb[13:LOW];
    reg [W-1:0] mem [0:DEPTH-1];
    reg [W-1:0] latch_b, out_b, out_a;
    integer i;
    initial begin
        for (i = 0; i < DEPTH; i = i + 1) mem[i] = 0;
        latch_b = 0;
        out_b = 0;
        out_a = 0;
    end
    // Port A writes (whole words; with 18- and 36-bit words each 9-bit part only under its byte
    // enable).
    always @(posedge CLKA) begin
        if (CEA && WEA && sel_a) begin
            if (W == 18 || W == 36) begin
                for (i = 0; i < W / 9; i = i + 1)
                    if (ada[i]) mem[addr_a][i * 9 +: 9] <= din[i * 9 +: 9];
            end else
                mem[addr_a] <= din[W-1:0];
        end
    end
    // Port B reads: the read stage on CEB (the old word when port A writes it in the same cycle),
    // then the output register on OCEB; RSTB clears whichever drives DOB. In the 36-bit mode
    // port A's output register (OCEA, RSTA) holds the word's low half.
    always @(posedge CLKB) begin
        if (REGMODE_B == "NOREG" && RSTB) latch_b <= 0;
        else if (CEB && sel_b && !WEB) latch_b <= mem[addr_b];
        if (RSTB) out_b <= 0;
        else if (OCEB) out_b <= latch_b;
    end
    always @(posedge CLKA) begin
        if (RSTA) out_a <= 0;
        else if (OCEA) out_a <= latch_b;
    end
    wire [W-1:0] word_b = REGMODE_B == "OUTREG" ? out_b : latch_b;
    wire [W-1:0] word_a = REGMODE_A == "OUTREG" ? out_a : latch_b;
    wire [17:0] doa, dob;
    generate if (WIDE) begin : wide
        assign doa = word_a[17:0];
        assign dob = word_b[35:18];
    end else begin : narrow
        assign doa = 18'b0;
        assign dob = 18'(word_b);
    end endgenerate
    assign {DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2, DOB1, DOB0} = dob;
    assign {DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2, DOA1, DOA0} = doa;
endmodule
/* verilator lint_on UNUSEDPARAM */
/* verilator lint_on UNUSEDSIGNAL */
