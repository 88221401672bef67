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

/// Prints the plan.
pub fn run(args: PlanArgs) -> nninit::Result<()> {
    let scheme = args.scheme.scheme()?;
    let plan = Plan::new(&scheme, &args.shape)?;
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

/// Prints the gain.
pub fn gain(args: GainArgs) -> nninit::Result<()> {
    outln!("{}", calculate_gain(&args.nonlinearity, args.param)?);
    Ok(())
}
