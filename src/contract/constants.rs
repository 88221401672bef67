// The numbers that the Rust twins and the WGSL twins share, defined once.
//
// `build.rs` includes this file and generates the WGSL prelude from it (`shaders/`'s files never
// spell these numbers), and the crate uses it directly: no value here is kept in step by hand.
// It must stay plain Rust with no `crate::` paths, so that `build.rs` can `include!` it.

/// Philox's first round multiplier (Random123 `PHILOX_M4x32_0`).
pub const PHILOX_M0: u32 = 0xD251_1F53;
/// Philox's second round multiplier (Random123 `PHILOX_M4x32_1`).
pub const PHILOX_M1: u32 = 0xCD9E_8D57;
/// Key bump for key word 0 (the golden ratio, Random123 `PHILOX_W32_0`).
pub const PHILOX_W0: u32 = 0x9E37_79B9;
/// Key bump for key word 1 (sqrt(3) - 1, Random123 `PHILOX_W32_1`).
pub const PHILOX_W1: u32 = 0xBB67_AE85;
/// Philox's number of rounds.
pub const PHILOX_ROUNDS: u32 = 10;

/// The fill kernel's operations: the `OP` override constant of `shaders/fill.wgsl`, one
/// pipeline each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum KernelOp {
    /// Raw Philox words.
    Bits = 0,
    /// `a + span * u`.
    Uniform = 1,
    /// `mean + std * z`, Box-Muller.
    Normal = 2,
    /// One value everywhere.
    Constant = 3,
    /// The truncated normal by inverse CDF.
    TruncNormal = 4,
    /// Ones on a generalized diagonal.
    Diagonal = 5,
    /// Words copied from an auxiliary buffer.
    Copy = 6,
    /// Normal values zeroed by a bitmap.
    Sparse = 7,
}

impl KernelOp {
    /// Every operation, in pipeline order.
    pub const ALL: [KernelOp; 8] = [
        KernelOp::Bits,
        KernelOp::Uniform,
        KernelOp::Normal,
        KernelOp::Constant,
        KernelOp::TruncNormal,
        KernelOp::Diagonal,
        KernelOp::Copy,
        KernelOp::Sparse,
    ];

    /// Whether the operation's values come from Philox blocks (so a 16-bit window whose slots
    /// straddle blocks needs the kernel's `STRADDLE` pipeline).
    pub const fn draws_blocks(self) -> bool {
        matches!(self, KernelOp::Bits | KernelOp::Uniform | KernelOp::Normal | KernelOp::TruncNormal | KernelOp::Sparse)
    }

    /// The WGSL constant's name.
    pub const fn wgsl_name(self) -> &'static str {
        match self {
            KernelOp::Bits => "OP_BITS",
            KernelOp::Uniform => "OP_UNIFORM",
            KernelOp::Normal => "OP_NORMAL",
            KernelOp::Constant => "OP_CONSTANT",
            KernelOp::TruncNormal => "OP_TRUNC_NORMAL",
            KernelOp::Diagonal => "OP_DIAGONAL",
            KernelOp::Copy => "OP_COPY",
            KernelOp::Sparse => "OP_SPARSE",
        }
    }
}

/// The output dtype codes the kernel reads in `FillParams::dtype`: `(WGSL name, code)`.
pub const DTYPE_CODES: [(&str, u32); 3] = [("DTYPE_F32", 0), ("DTYPE_F16", 1), ("DTYPE_BF16", 2)];

/// Cephes `logf`'s polynomial in `f = m - 1`, highest degree first.
pub const LN_POLY: [f32; 9] = [
    7.037_683_6e-2,
    -1.151_461_1e-1,
    1.167_699_9e-1,
    -1.242_014_1e-1,
    1.424_932_3e-1,
    -1.666_805_8e-1,
    2.000_071_4e-1,
    -2.499_999_4e-1,
    3.333_333e-1,
];
/// `ln 2` split in two (Cephes' `C2` and `C1`): the high part is exact in few bits.
pub const LN2_HI: f32 = 0.693_359_4;
/// The low part of `ln 2`.
pub const LN2_LO: f32 = -2.121_944_4e-4;
/// `sqrt(2)` in f32: `ln` moves the mantissa below it.
pub const SQRT_2: f32 = std::f32::consts::SQRT_2;
/// `log2(e)` in f32: `exp`'s range reduction.
pub const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// Cephes `expf`'s polynomial in `r`, highest degree first.
pub const EXP_POLY: [f32; 6] = [1.987_569_1e-4, 1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 0.5];
/// Cephes `sinf`'s polynomial in `z = x^2`, highest degree first.
pub const SIN_POLY: [f32; 3] = [-1.951_529_6e-4, 8.332_161e-3, -1.666_665_5e-1];
/// Cephes `cosf`'s polynomial in `z = x^2`, highest degree first.
pub const COS_POLY: [f32; 3] = [2.443_315_7e-5, -1.388_731_6e-3, 4.166_664_6e-2];
/// `f32(2 pi) / 2^24`, the angle of one step of a 24-bit turn fraction.
pub const TWO_PI_OVER_2_24: f32 = std::f32::consts::TAU / 16_777_216.0;
/// `ln 0.075`: below it the quantile's tail branch applies (`|p - 0.5| > 0.425`).
pub const LN_CENTRAL_MIN: f32 = -2.590_267;

/// The normal quantile's rational approximations (Wichura's AS241, PPND16), numerators and
/// denominators highest degree first, with Wichura's published digits rounded to f32: the central
/// region (`|p - 0.5| <= 0.425`).
#[allow(clippy::excessive_precision)]
pub const QUANTILE_CENTRAL_NUM: [f32; 8] = [
    2.509_080_928_730_122_7e3_f64 as f32,
    3.343_057_558_358_812_8e4_f64 as f32,
    6.726_577_092_700_870_1e4_f64 as f32,
    4.592_195_393_154_987_1e4_f64 as f32,
    1.373_169_376_550_946_1e4_f64 as f32,
    1.971_590_950_306_551_4e3_f64 as f32,
    1.331_416_678_917_843_8e2_f64 as f32,
    3.387_132_872_796_366_6_f64 as f32,
];
/// The central region's denominator.
#[allow(clippy::excessive_precision)]
pub const QUANTILE_CENTRAL_DEN: [f32; 8] = [
    5.226_495_278_852_854_6e3_f64 as f32,
    2.872_908_573_572_194_3e4_f64 as f32,
    3.930_789_580_009_271_1e4_f64 as f32,
    2.121_379_430_158_659_6e4_f64 as f32,
    5.394_196_021_424_751_1e3_f64 as f32,
    6.871_870_074_920_579_1e2_f64 as f32,
    4.231_333_070_160_091_1e1_f64 as f32,
    1.0,
];
/// The near tail (`r = sqrt(-ln p) <= 5`, in `r - 1.6`): numerator.
#[allow(clippy::excessive_precision)]
pub const QUANTILE_NEAR_NUM: [f32; 8] = [
    7.745_450_142_783_414_1e-4_f64 as f32,
    2.272_384_498_926_918_5e-2_f64 as f32,
    2.417_807_251_774_506_1e-1_f64 as f32,
    1.270_458_252_452_368_4_f64 as f32,
    3.647_848_324_763_204_6_f64 as f32,
    5.769_497_221_460_691_4_f64 as f32,
    4.630_337_846_156_545_3_f64 as f32,
    1.423_437_110_749_683_6_f64 as f32,
];
/// The near tail's denominator.
#[allow(clippy::excessive_precision)]
pub const QUANTILE_NEAR_DEN: [f32; 8] = [
    1.050_750_071_644_416_8e-9_f64 as f32,
    5.475_938_084_995_344_9e-4_f64 as f32,
    1.519_866_656_361_645_7e-2_f64 as f32,
    1.481_039_764_274_800_7e-1_f64 as f32,
    6.897_673_349_851_000_0e-1_f64 as f32,
    1.676_384_830_183_803_8_f64 as f32,
    2.053_191_626_637_758_8_f64 as f32,
    1.0,
];
/// The far tail (`r > 5`, in `r - 5`): numerator.
#[allow(clippy::excessive_precision)]
pub const QUANTILE_FAR_NUM: [f32; 8] = [
    2.010_334_399_292_288_1e-7_f64 as f32,
    2.711_555_568_743_487_6e-5_f64 as f32,
    1.242_660_947_388_078_4e-3_f64 as f32,
    2.653_218_952_657_612_3e-2_f64 as f32,
    2.965_605_718_285_048_9e-1_f64 as f32,
    1.784_826_539_917_291_3_f64 as f32,
    5.463_784_911_164_114_4_f64 as f32,
    6.657_904_643_501_103_8_f64 as f32,
];
/// The far tail's denominator.
#[allow(clippy::excessive_precision)]
pub const QUANTILE_FAR_DEN: [f32; 8] = [
    2.044_263_103_389_939_8e-15_f64 as f32,
    1.421_511_758_316_445_9e-7_f64 as f32,
    1.846_318_317_510_054_7e-5_f64 as f32,
    7.868_691_311_456_132_6e-4_f64 as f32,
    1.487_536_129_085_061_5e-2_f64 as f32,
    1.369_298_809_227_358_1e-1_f64 as f32,
    5.998_322_065_558_879_4e-1_f64 as f32,
    1.0,
];

/// An f32 as a WGSL f32 literal that parses to the same bits (Rust prints the shortest decimal
/// that round-trips; the `f` suffix makes WGSL parse it as an f32 directly).
fn wgsl_f32(x: f32) -> String {
    format!("{x:?}f")
}

/// The WGSL prelude: every constant above as a WGSL `const`, put in front of every module.
pub fn wgsl_prelude() -> String {
    let mut out = String::from("// Generated from src/contract/constants.rs: do not edit.\n");
    let philox = [
        ("PHILOX_M0", PHILOX_M0),
        ("PHILOX_M1", PHILOX_M1),
        ("PHILOX_W0", PHILOX_W0),
        ("PHILOX_W1", PHILOX_W1),
        ("PHILOX_ROUNDS", PHILOX_ROUNDS),
    ];
    let ops = KernelOp::ALL.map(|op| (op.wgsl_name(), op as u32));
    for (name, value) in philox.iter().chain(&ops).chain(&DTYPE_CODES) {
        out.push_str(&format!("const {name}: u32 = {value}u;\n"));
    }
    let scalars = [
        ("LN2_HI", LN2_HI),
        ("LN2_LO", LN2_LO),
        ("SQRT_2", SQRT_2),
        ("LOG2_E", LOG2_E),
        ("TWO_PI_OVER_2_24", TWO_PI_OVER_2_24),
        ("LN_CENTRAL_MIN", LN_CENTRAL_MIN),
    ];
    for (name, value) in scalars {
        out.push_str(&format!("const {name}: f32 = {};\n", wgsl_f32(value)));
    }
    let tables: [(&str, &[f32]); 10] = [
        ("LN_POLY", &LN_POLY),
        ("EXP_POLY", &EXP_POLY),
        ("SIN_POLY", &SIN_POLY),
        ("COS_POLY", &COS_POLY),
        ("QUANTILE_CENTRAL_NUM", &QUANTILE_CENTRAL_NUM),
        ("QUANTILE_CENTRAL_DEN", &QUANTILE_CENTRAL_DEN),
        ("QUANTILE_NEAR_NUM", &QUANTILE_NEAR_NUM),
        ("QUANTILE_NEAR_DEN", &QUANTILE_NEAR_DEN),
        ("QUANTILE_FAR_NUM", &QUANTILE_FAR_NUM),
        ("QUANTILE_FAR_DEN", &QUANTILE_FAR_DEN),
    ];
    for (name, values) in tables {
        let items: Vec<String> = values.iter().map(|&v| wgsl_f32(v)).collect();
        let n = values.len();
        out.push_str(&format!("const {name}: array<f32, {n}> = array<f32, {n}>({});\n", items.join(", ")));
    }
    out
}

/// The shader files of each module, in the order they are put together after the prelude.
/// `{mulhilo}` is `mulhilo_native` or `mulhilo_emulated`.
pub const FILL_MODULE: &[&str] = &[
    "lib/{mulhilo}.wgsl",
    "lib/philox.wgsl",
    "lib/mathf.wgsl",
    "lib/values.wgsl",
    "lib/quantile.wgsl",
    "lib/trunc_normal.wgsl",
    "lib/dtype.wgsl",
    "lib/diagonal.wgsl",
    "fill.wgsl",
];

/// The files of the known-answer module (entry point `philox_kat`).
pub const PHILOX_KAT_MODULE: &[&str] = &["lib/{mulhilo}.wgsl", "lib/philox.wgsl", "philox_kat.wgsl"];

/// The files of the test-only module (entry point `rounding_check`) that runs the correctly
/// rounded division and square root from given estimates. Not embedded in the crate: the tests
/// include it from `OUT_DIR`.
pub const ROUNDING_CHECK_MODULE: &[&str] = &["lib/values.wgsl", "lib/mathf.wgsl", "rounding_check.wgsl"];

/// The two variants of `{mulhilo}`.
pub const MULHILO_VARIANTS: [&str; 2] = ["mulhilo_native", "mulhilo_emulated"];
