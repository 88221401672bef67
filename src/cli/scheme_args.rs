//! The scheme and its parameters on the command line, by PyTorch's names and defaults.

use nninit::{Error, Scheme};

/// The schemes of `torch.nn.init`, as the CLI names them; PyTorch's spelling with the trailing
/// underscore (`kaiming_normal_`) and hyphens (`kaiming-normal`) are accepted too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum SchemeName {
    #[value(alias = "uniform_")]
    Uniform,
    #[value(alias = "normal_")]
    Normal,
    #[value(aliases = ["trunc_normal_", "trunc-normal"])]
    TruncNormal,
    #[value(alias = "constant_")]
    Constant,
    #[value(alias = "ones_")]
    Ones,
    #[value(alias = "zeros_")]
    Zeros,
    #[value(alias = "eye_")]
    Eye,
    #[value(alias = "dirac_")]
    Dirac,
    #[value(aliases = ["xavier_uniform_", "xavier-uniform"])]
    XavierUniform,
    #[value(aliases = ["xavier_normal_", "xavier-normal"])]
    XavierNormal,
    #[value(aliases = ["kaiming_uniform_", "kaiming-uniform"])]
    KaimingUniform,
    #[value(aliases = ["kaiming_normal_", "kaiming-normal"])]
    KaimingNormal,
    #[value(alias = "orthogonal_")]
    Orthogonal,
    #[value(alias = "sparse_")]
    Sparse,
}

/// A scheme and its parameters (PyTorch's names; unset ones take PyTorch's defaults).
#[derive(Debug, clap::Args)]
pub struct SchemeArgs {
    /// The scheme, as torch.nn.init names it (`kaiming_normal`, `kaiming_normal_` and
    /// `kaiming-normal` are the same).
    #[arg(value_enum)]
    pub scheme: SchemeName,
    /// uniform / trunc_normal: lower bound; kaiming: negative slope of the rectifier.
    #[arg(long, allow_hyphen_values = true)]
    a: Option<f64>,
    /// uniform / trunc_normal: upper bound.
    #[arg(long, allow_hyphen_values = true)]
    b: Option<f64>,
    /// normal / trunc_normal: mean.
    #[arg(long, allow_hyphen_values = true)]
    mean: Option<f64>,
    /// normal / trunc_normal / sparse: standard deviation.
    #[arg(long, allow_hyphen_values = true)]
    std: Option<f64>,
    /// constant: the value.
    #[arg(long, allow_hyphen_values = true)]
    val: Option<f64>,
    /// xavier / orthogonal: gain.
    #[arg(long, allow_hyphen_values = true)]
    gain: Option<f64>,
    /// kaiming: fan_in or fan_out.
    #[arg(long)]
    mode: Option<String>,
    /// kaiming: the nonlinearity after the layer (as calculate_gain names it).
    #[arg(long)]
    nonlinearity: Option<String>,
    /// dirac: groups.
    #[arg(long)]
    groups: Option<u64>,
    /// sparse: fraction of each column set to zero.
    #[arg(long, allow_hyphen_values = true)]
    sparsity: Option<f64>,
}

impl SchemeArgs {
    /// The scheme; a parameter the scheme does not take is an error.
    pub fn scheme(&self) -> nninit::Result<Scheme> {
        use SchemeName::*;
        let given = [
            ("--a", self.a.is_some()),
            ("--b", self.b.is_some()),
            ("--mean", self.mean.is_some()),
            ("--std", self.std.is_some()),
            ("--val", self.val.is_some()),
            ("--gain", self.gain.is_some()),
            ("--mode", self.mode.is_some()),
            ("--nonlinearity", self.nonlinearity.is_some()),
            ("--groups", self.groups.is_some()),
            ("--sparsity", self.sparsity.is_some()),
        ];
        let takes: &[&str] = match self.scheme {
            Uniform => &["--a", "--b"],
            Normal => &["--mean", "--std"],
            TruncNormal => &["--mean", "--std", "--a", "--b"],
            Constant => &["--val"],
            Ones | Zeros | Eye => &[],
            Dirac => &["--groups"],
            XavierUniform | XavierNormal | Orthogonal => &["--gain"],
            KaimingUniform | KaimingNormal => &["--a", "--mode", "--nonlinearity"],
            Sparse => &["--sparsity", "--std"],
        };
        if let Some((flag, _)) = given.iter().find(|(flag, set)| *set && !takes.contains(flag)) {
            return Err(Error::InvalidParameter(format!("{flag} does not apply to {}", self.name())));
        }
        let mode = self.mode.as_deref().unwrap_or("fan_in");
        let nonlinearity = self.nonlinearity.as_deref().unwrap_or("leaky_relu");
        match self.scheme {
            Uniform => Scheme::uniform(self.a.unwrap_or(0.0), self.b.unwrap_or(1.0)),
            Normal => Scheme::normal(self.mean.unwrap_or(0.0), self.std.unwrap_or(1.0)),
            TruncNormal => Scheme::trunc_normal(
                self.mean.unwrap_or(0.0),
                self.std.unwrap_or(1.0),
                self.a.unwrap_or(-2.0),
                self.b.unwrap_or(2.0),
            ),
            Constant => {
                Scheme::constant(self.val.ok_or_else(|| Error::InvalidParameter("constant needs --val".into()))?)
            }
            Ones => Ok(Scheme::ones()),
            Zeros => Ok(Scheme::zeros()),
            Eye => Ok(Scheme::eye()),
            Dirac => Scheme::dirac(self.groups.unwrap_or(1)),
            XavierUniform => Scheme::xavier_uniform(self.gain.unwrap_or(1.0)),
            XavierNormal => Scheme::xavier_normal(self.gain.unwrap_or(1.0)),
            KaimingUniform => Scheme::kaiming_uniform(self.a.unwrap_or(0.0), mode, nonlinearity),
            KaimingNormal => Scheme::kaiming_normal(self.a.unwrap_or(0.0), mode, nonlinearity),
            Orthogonal => Scheme::orthogonal(self.gain.unwrap_or(1.0)),
            Sparse => Scheme::sparse(
                self.sparsity.ok_or_else(|| Error::InvalidParameter("sparse needs --sparsity".into()))?,
                self.std.unwrap_or(0.01),
            ),
        }
    }

    fn name(&self) -> String {
        use clap::ValueEnum;
        self.scheme.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default()
    }
}
