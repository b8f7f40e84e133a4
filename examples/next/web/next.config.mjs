/** @type {import('next').NextConfig} */
export default {
  // No "powered by" header, no dev overlay indicator: nothing the recipe depends on.
  poweredByHeader: false,
  devIndicators: false,
};
