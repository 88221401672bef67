//! `nninit plan` and `nninit gain`: the resolved numbers, without filling.

use nninit::calculate_gain;
use nninit::Plan;

use super::scheme_args::SchemeArgs;

/// Arguments of `nninit plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    #[command(flatten)]
    scheme: SchemeArgs,
    /// The tensor's shape, e.g. 64,3,7,7.
    #[arg(long, value_delimiter = ',', num_args = 1.., required = true)]
    shape: Vec<usize>,
    /// Print one JSON object with the keys that apply among fan_in, fan_out, gain, std, bound.
    #[arg(long)]
    json: bool,
}

/// The scheme and its plan for the shape.
pub(super) fn check(args: &PlanArgs) -> nninit::Result<(nninit::Scheme, Plan)> {
    let scheme = args.scheme.scheme()?;
    let plan = Plan::new(&scheme, &args.shape)?;
    Ok((scheme, plan))
}

/// Prints the plan.
pub fn run(args: PlanArgs) -> nninit::Result<()> {
    let (scheme, plan) = check(&args)?;
    let numbers = plan.numbers_json();
    if args.json {
        outln!("{numbers}");
        return Ok(());
    }
    outln!("{} {:?}: {} elements", scheme.name(), args.shape, plan.elements());
    let serde_json::Value::Object(map) = numbers else { unreachable!("numbers_json returns an object") };
    for (key, value) in map {
        outln!("  {key} = {value}");
    }
    Ok(())
}

/// Arguments of `nninit gain`.
#[derive(Debug, clap::Args)]
pub struct GainArgs {
    /// The nonlinearity, as torch.nn.init.calculate_gain names it.
    nonlinearity: String,
    /// Its parameter (leaky_relu's negative slope).
    #[arg(long, allow_hyphen_values = true)]
    param: Option<f64>,
}

/// The gain.
pub(super) fn check_gain(args: &GainArgs) -> nninit::Result<f64> {
    calculate_gain(&args.nonlinearity, args.param)
}

/// Prints the gain.
pub fn gain(args: GainArgs) -> nninit::Result<()> {
    outln!("{}", check_gain(&args)?);
    Ok(())
}
